{{/* The servers this release installs, in port order (mcp-fleet.serverNames is generated from the manifests). */}}
{{- define "mcp-fleet.servers" -}}
{{- $enabled := list -}}
{{- range $server := splitList " " (include "mcp-fleet.serverNames" .) -}}
{{- if (index $.Values $server).enabled -}}
{{- $enabled = append $enabled $server -}}
{{- end -}}
{{- end -}}
{{- toJson $enabled -}}
{{- end -}}

{{/* The path prefix of the one-host Ingress/HTTPRoute: the path of global.publicBaseUrl. */}}
{{- define "mcp-fleet.basePath" -}}
{{- (urlParse .Values.global.publicBaseUrl).path | trimSuffix "/" -}}
{{- end -}}

{{/* Labels of the umbrella's own objects. */}}
{{- define "mcp-fleet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: mcp-fleet
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mcp-fleet
{{- end -}}
