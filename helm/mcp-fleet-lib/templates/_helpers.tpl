{{/*
Names, labels and the settings every server chart resolves the same way.
A server chart's context (`.`) is passed to every template here; the umbrella chart builds an
equivalent context for one server with "mcp-fleet-lib.serverContext".
*/}}

{{/* The chart's short name: the server's name (database, files, ...). */}}
{{- define "mcp-fleet-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The resource name: <release>-<server>, or the release name alone when it is exactly the server's
name (never when it merely contains it: two servers of one release would get one name). A name
longer than 63 characters is cut to 54 and given 8 characters of its SHA-256, so that it stays
unique per server.
*/}}
{{- define "mcp-fleet-lib.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- $full := ternary .Release.Name (printf "%s-%s" .Release.Name $name) (eq $name .Release.Name) -}}
{{- if gt (len $full) 63 -}}
{{- printf "%s-%s" ($full | trunc 54 | trimSuffix "-") ($full | sha256sum | trunc 8) -}}
{{- else -}}
{{- $full -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Selector labels: name and instance only, so that they never change across upgrades. */}}
{{- define "mcp-fleet-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcp-fleet-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels put on every object. */}}
{{- define "mcp-fleet-lib.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mcp-fleet-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ include "mcp-fleet-lib.imageTag" . | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: mcp-server
app.kubernetes.io/part-of: mcp-fleet
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The `global` values, or an empty dict when the chart is installed on its own. */}}
{{- define "mcp-fleet-lib.global" -}}
{{- toYaml (.Values.global | default dict) -}}
{{- end -}}

{{/* The image tag: image.tag, else global.imageTag, else the chart's appVersion. */}}
{{- define "mcp-fleet-lib.imageTag" -}}
{{- $g := fromYaml (include "mcp-fleet-lib.global" .) -}}
{{- .Values.image.tag | default $g.imageTag | default .Chart.AppVersion -}}
{{- end -}}

{{/* The full image reference; a digest, when given, pins the image whatever the tag says. */}}
{{- define "mcp-fleet-lib.image" -}}
{{- $g := fromYaml (include "mcp-fleet-lib.global" .) -}}
{{- $registry := $g.imageRegistry | default .Values.image.registry -}}
{{- $repo := .Values.image.repository -}}
{{- if $registry }}{{ $repo = printf "%s/%s" $registry $repo }}{{ end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (include "mcp-fleet-lib.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* imagePullSecrets from the chart and from global. */}}
{{- define "mcp-fleet-lib.imagePullSecrets" -}}
{{- $g := fromYaml (include "mcp-fleet-lib.global" .) -}}
{{- $secrets := concat (.Values.imagePullSecrets | default list) ($g.imagePullSecrets | default list) | uniq -}}
{{- if $secrets -}}
imagePullSecrets:
{{- range $secrets }}
  - name: {{ . | quote }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* The ServiceAccount the pods run as. */}}
{{- define "mcp-fleet-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mcp-fleet-lib.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Cluster DNS suffix. */}}
{{- define "mcp-fleet-lib.clusterDomain" -}}
{{- $g := fromYaml (include "mcp-fleet-lib.global" .) -}}
{{- $g.clusterDomain | default "cluster.local" -}}
{{- end -}}

{{/*
The server's external base URL (PUBLIC_URL; its MCP resource id is PUBLIC_URL + "/mcp"):
publicUrl, else the chart's own Ingress host, else global.publicBaseUrl + "/<server>" (the umbrella's
one-host Ingress), else the in-cluster Service URL.
*/}}
{{- define "mcp-fleet-lib.publicUrl" -}}
{{- $g := fromYaml (include "mcp-fleet-lib.global" .) -}}
{{- if .Values.publicUrl -}}
{{- .Values.publicUrl | trimSuffix "/" -}}
{{- else if .Values.ingress.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .Values.ingress.tls.secretName))) .Values.ingress.host -}}
{{- else if $g.publicBaseUrl -}}
{{- printf "%s/%s" ($g.publicBaseUrl | trimSuffix "/") .Chart.Name -}}
{{- else -}}
{{- printf "http://%s.%s.svc.%s" (include "mcp-fleet-lib.fullname" .) .Release.Namespace (include "mcp-fleet-lib.clusterDomain" .) -}}
{{- end -}}
{{- end -}}

{{/* Host names the server accepts in the Host header (DNS-rebinding protection), as a comma list. */}}
{{- define "mcp-fleet-lib.allowedHosts" -}}
{{- $fullname := include "mcp-fleet-lib.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $public := urlParse (include "mcp-fleet-lib.publicUrl" .) -}}
{{- $hosts := list (regexReplaceAll ":[0-9]+$" $public.host "") $fullname (printf "%s.%s" $fullname $ns) (printf "%s.%s.svc" $fullname $ns) (printf "%s.%s.svc.%s" $fullname $ns (include "mcp-fleet-lib.clusterDomain" .)) -}}
{{- concat $hosts (.Values.allowedHosts | default list) | uniq | join "," -}}
{{- end -}}

{{/* Origins browsers may send (the public origin and any configured), as a comma list. */}}
{{- define "mcp-fleet-lib.allowedOrigins" -}}
{{- $public := urlParse (include "mcp-fleet-lib.publicUrl" .) -}}
{{- concat (list (printf "%s://%s" $public.scheme $public.host)) (.Values.allowedOrigins | default list) | uniq | join "," -}}
{{- end -}}

{{/* A setting read from the chart's values, else from global (strings and lists). */}}
{{- define "mcp-fleet-lib.auth" -}}
{{- $g := fromYaml (include "mcp-fleet-lib.global" .) -}}
{{- $ga := $g.auth | default dict -}}
{{- $la := .Values.auth -}}
{{- $claims := dict -}}
{{- range $k := list "agent" "roles" "scopes" "tenant" "user" "session" -}}
{{- $v := (index ($la.claims | default dict) $k) | default (index ($ga.claims | default dict) $k) -}}
{{- if $v }}{{ $_ := set $claims $k $v }}{{ end -}}
{{- end -}}
issuer: {{ $la.issuer | default $ga.issuer | default "" | quote }}
jwksUrl: {{ $la.jwksUrl | default $ga.jwksUrl | default "" | quote }}
audience: {{ $la.audience | default "" | quote }}
algorithms: {{ $la.algorithms | default $ga.algorithms | default list | toJson }}
requiredScopes: {{ $la.requiredScopes | default $ga.requiredScopes | default list | toJson }}
claims: {{ $claims | toJson }}
{{- end -}}

{{/* A secret reference ({existingSecret, key}) from the chart's values, else from global. */}}
{{- define "mcp-fleet-lib.secretRef" -}}
{{- $local := index .ctx.Values .name | default dict -}}
{{- $g := fromYaml (include "mcp-fleet-lib.global" .ctx) -}}
{{- $global := index $g .name | default dict -}}
{{- if $local.existingSecret -}}
existingSecret: {{ $local.existingSecret | quote }}
key: {{ $local.key | quote }}
{{- else if $global.existingSecret -}}
existingSecret: {{ $global.existingSecret | quote }}
key: {{ $global.key | default $local.key | quote }}
{{- end -}}
{{- end -}}

{{/* The policy ConfigMap the pods mount: {name, key, create, content}. */}}
{{- define "mcp-fleet-lib.policySource" -}}
{{- $g := fromYaml (include "mcp-fleet-lib.global" .) -}}
{{- $gp := $g.policy | default dict -}}
{{- if .Values.policy.existingConfigMap -}}
name: {{ .Values.policy.existingConfigMap | quote }}
key: {{ .Values.policy.key | quote }}
create: false
{{- else if $gp.existingConfigMap -}}
name: {{ $gp.existingConfigMap | quote }}
key: {{ $gp.key | default "policy.yaml" | quote }}
create: false
{{- else if $gp.content -}}
{{- /* the umbrella chart renders this one ConfigMap for the whole fleet */}}
name: {{ printf "%s-fleet-policy" .Release.Name | trunc 63 | trimSuffix "-" | quote }}
key: policy.yaml
create: false
content: {{ $gp.content | quote }}
{{- else -}}
name: {{ printf "%s-policy" (include "mcp-fleet-lib.fullname" .) | trunc 63 | trimSuffix "-" | quote }}
key: policy.yaml
create: true
content: {{ .Values.policy.content | quote }}
{{- end -}}
{{- end -}}

{{/* Fails the render with every missing required setting listed at once. */}}
{{- define "mcp-fleet-lib.validate" -}}
{{- $auth := fromYaml (include "mcp-fleet-lib.auth" .) -}}
{{- $errors := list -}}
{{- if not $auth.issuer -}}
{{- $errors = append $errors "auth.issuer (or global.auth.issuer): the issuer of your IdP's access tokens" -}}
{{- end -}}
{{- if not $auth.jwksUrl -}}
{{- $errors = append $errors "auth.jwksUrl (or global.auth.jwksUrl): the URL of your IdP's JSON Web Key Set" -}}
{{- end -}}
{{- if not (include "mcp-fleet-lib.secretRef" (dict "ctx" . "name" "fleetDatabase")) -}}
{{- $errors = append $errors "fleetDatabase.existingSecret (or global.fleetDatabase.existingSecret): a Secret holding the fleet database URL" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) -}}
{{- $errors = append $errors "ingress.host: the host name of this server's Ingress" -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n%s: these values are required:\n  - %s" (include "mcp-fleet-lib.fullname" .) (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}

{{/* The pod security context: non-root, a fixed seccomp profile; only the ids are configurable. */}}
{{- define "mcp-fleet-lib.podSecurityContext" -}}
runAsNonRoot: true
{{- with .Values.securityContext.runAsUser }}
runAsUser: {{ . }}
{{- end }}
{{- with .Values.securityContext.runAsGroup }}
runAsGroup: {{ . }}
{{- end }}
{{- with .Values.securityContext.fsGroup }}
fsGroup: {{ . }}
fsGroupChangePolicy: OnRootMismatch
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The container security context: deliberately not configurable. */}}
{{- define "mcp-fleet-lib.containerSecurityContext" -}}
runAsNonRoot: true
{{- with .Values.securityContext.runAsUser }}
runAsUser: {{ . }}
{{- end }}
{{- with .Values.securityContext.runAsGroup }}
runAsGroup: {{ . }}
{{- end }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Environment shared by the server and its migration Job: the fleet database connection. */}}
{{- define "mcp-fleet-lib.databaseEnv" -}}
{{- $db := fromYaml (include "mcp-fleet-lib.secretRef" (dict "ctx" . "name" "fleetDatabase")) -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $db.existingSecret | quote }}
      key: {{ $db.key | quote }}
{{- end -}}

{{/*
Fills `out` with a server chart's context as the umbrella chart sees it, so that the umbrella can
render a server's names (Ingress and HTTPRoute backends, NOTES) with these templates.
Usage: {{- $ctx := dict -}}{{- include "mcp-fleet-lib.serverContext" (dict "root" . "server" "database" "out" $ctx) -}}
*/}}
{{- define "mcp-fleet-lib.serverContext" -}}
{{- $values := deepCopy (index .root.Values .server | default dict) -}}
{{- $_ := set $values "global" (.root.Values.global | default dict) -}}
{{- $_ = set .out "Values" $values -}}
{{- $_ = set .out "Release" .root.Release -}}
{{- $_ = set .out "Capabilities" .root.Capabilities -}}
{{- $_ = set .out "Template" .root.Template -}}
{{- $_ = set .out "Chart" (dict "Name" .server "Version" .root.Chart.Version "AppVersion" .root.Chart.AppVersion) -}}
{{- end -}}

{{/*
The configFiles entries that are mounted (existingConfigMap or content set), as a YAML list of
{env, slug, dir, path, configMap, key, create, content}: slug is the variable in lower case with "-".
*/}}
{{- define "mcp-fleet-lib.configFiles" -}}
{{- $fullname := include "mcp-fleet-lib.fullname" . -}}
{{- $out := list -}}
{{- range $env, $f := .Values.configFiles -}}
{{- if or $f.existingConfigMap $f.content -}}
{{- $slug := $env | lower | replace "_" "-" -}}
{{- $key := $f.key | default "file" -}}
{{- $cm := $f.existingConfigMap | default (printf "%s-%s" $fullname $slug | trunc 63 | trimSuffix "-") -}}
{{- $out = append $out (dict "env" $env "slug" $slug "dir" (printf "/etc/mcp-fleet/files/%s" $slug) "path" (printf "/etc/mcp-fleet/files/%s/%s" $slug $key) "configMap" $cm "key" $key "create" (not $f.existingConfigMap) "content" ($f.content | default "")) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "files" $out) -}}
{{- end -}}
