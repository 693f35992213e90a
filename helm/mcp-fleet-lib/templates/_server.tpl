{{/*
Everything a server chart renders. A server chart's only template is:
  {{ include "mcp-fleet-lib.server" . }}
*/}}
{{- define "mcp-fleet-lib.server" -}}
{{- include "mcp-fleet-lib.validate" . -}}
{{- $docs := list
  (include "mcp-fleet-lib.serviceAccount" .)
  (include "mcp-fleet-lib.policyConfigMap" .)
  (include "mcp-fleet-lib.configFileMaps" .)
  (include "mcp-fleet-lib.pvc" .)
  (include "mcp-fleet-lib.service" .)
  (include "mcp-fleet-lib.deployment" .)
  (include "mcp-fleet-lib.hpa" .)
  (include "mcp-fleet-lib.pdb" .)
  (include "mcp-fleet-lib.networkPolicy" .)
  (include "mcp-fleet-lib.ingress" .)
  (include "mcp-fleet-lib.serviceMonitor" .)
  (include "mcp-fleet-lib.prometheusRule" .)
  (include "mcp-fleet-lib.migrationJob" .)
-}}
{{- range $docs }}
{{- if trim . }}
---
{{ . }}
{{- end }}
{{- end }}
{{- end -}}
