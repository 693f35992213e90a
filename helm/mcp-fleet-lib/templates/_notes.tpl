{{/* NOTES.txt of a server chart. */}}
{{- define "mcp-fleet-lib.notes" -}}
{{- $url := include "mcp-fleet-lib.publicUrl" . -}}
{{- $u := urlParse $url -}}
mcp-fleet {{ .Chart.Name }} server, release {{ .Release.Name }} in {{ .Release.Namespace }}.

MCP endpoint (Streamable HTTP):   {{ $url }}/mcp
Protected resource metadata:      {{ printf "%s://%s/.well-known/oauth-protected-resource%s/mcp" $u.scheme $u.host $u.path }}
Token audience your IdP must set: {{ (fromYaml (include "mcp-fleet-lib.auth" .)).audience | default (printf "%s/mcp" $url) }}
{{- if eq .Chart.Name "admin" }}
Approvals console:                {{ $url }}/console
Console OIDC redirect URI:        {{ $url }}/console/callback  (register it at your IdP for CONSOLE_OIDC_CLIENT_ID)
{{- end }}

Check the rollout:
  kubectl -n {{ .Release.Namespace }} rollout status deployment/{{ include "mcp-fleet-lib.fullname" . }}
  kubectl -n {{ .Release.Namespace }} port-forward service/{{ include "mcp-fleet-lib.fullname" . }} 8080:{{ .Values.service.port }}
  curl -s localhost:8080/readyz
{{- end -}}
