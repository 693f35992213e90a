{{/* The ServiceMonitor (prometheus-operator), when enabled here or in global.monitoring. */}}
{{- define "mcp-fleet-lib.serviceMonitor" -}}
{{- $g := fromYaml (include "mcp-fleet-lib.global" .) -}}
{{- $gm := $g.monitoring | default dict -}}
{{- if or .Values.serviceMonitor.enabled $gm.serviceMonitor -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "mcp-fleet-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mcp-fleet-lib.labels" . | nindent 4 }}
    {{- with (merge (dict) (.Values.serviceMonitor.labels | default dict) ($gm.labels | default dict)) }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "mcp-fleet-lib.selectorLabels" . | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  endpoints:
    - port: http
      path: /metrics
      interval: {{ .Values.serviceMonitor.interval }}
      scrapeTimeout: {{ .Values.serviceMonitor.scrapeTimeout }}
{{- end -}}
{{- end -}}

{{/*
The PrometheusRule: alerts on the fleet's own metrics for this server. docs/operating.md says
what each alert means and what to do. Thresholds are values (prometheusRule.thresholds).
*/}}
{{- define "mcp-fleet-lib.prometheusRule" -}}
{{- $g := fromYaml (include "mcp-fleet-lib.global" .) -}}
{{- $gm := $g.monitoring | default dict -}}
{{- if or .Values.prometheusRule.enabled $gm.prometheusRule -}}
{{- $fullname := include "mcp-fleet-lib.fullname" . -}}
{{- $sel := printf "namespace=%q, service=%q" .Release.Namespace $fullname -}}
{{- $t := .Values.prometheusRule.thresholds -}}
{{- $server := .Chart.Name -}}
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {{ $fullname }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mcp-fleet-lib.labels" . | nindent 4 }}
    {{- with (merge (dict) (.Values.prometheusRule.labels | default dict) ($gm.labels | default dict)) }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  groups:
    - name: {{ printf "mcp-fleet.%s" $server }}
      rules:
        - alert: McpServerDown
          expr: sum(up{ {{- $sel -}} }) == 0 or absent(up{ {{- $sel -}} })
          for: 5m
          labels:
            severity: critical
            mcp_server: {{ $server }}
          annotations:
            summary: {{ printf "No %s replica is being scraped" $server | quote }}
            description: "Prometheus has not scraped any replica of {{ $fullname }} for 5 minutes."
        - alert: McpToolErrorRateHigh
          expr: |
            sum(rate(mcp_tool_calls_total{ {{- $sel -}}, outcome=~"error|timeout"}[10m]))
              / sum(rate(mcp_tool_calls_total{ {{- $sel -}} }[10m])) > {{ $t.toolErrorRatio }}
          for: 10m
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            summary: {{ printf "More than %v of %s tool calls fail" $t.toolErrorRatio $server | quote }}
            description: "Tool calls end in error or timeout: an upstream system is failing or slow."
        - alert: McpToolLatencyHigh
          expr: |
            histogram_quantile(0.95, sum by (le, tool) (rate(mcp_tool_call_duration_seconds_bucket{ {{- $sel -}} }[10m]))) > {{ $t.toolLatencyP95Seconds }}
          for: 15m
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            summary: {{ printf "p95 latency of a %s tool is above %vs" $server $t.toolLatencyP95Seconds | quote }}
            description: "Tool {{ "{{ $labels.tool }}" }} answers slowly; agents will time out and retry."
        - alert: McpAuthFailuresHigh
          expr: sum by (reason) (rate(mcp_auth_failures_total{ {{- $sel -}} }[5m])) > {{ $t.authFailuresPerSecond }}
          for: 10m
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            summary: {{ printf "%s refuses many tokens" $server | quote }}
            description: "Authentication failures ({{ "{{ $labels.reason }}" }}): a misconfigured client or IdP, rotated keys, or someone probing."
        - alert: McpPolicyDenialsHigh
          expr: sum by (tool) (rate(mcp_policy_denials_total{ {{- $sel -}} }[10m])) > {{ $t.policyDenialsPerSecond }}
          for: 15m
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            summary: {{ printf "%s denies many calls by policy" $server | quote }}
            description: "Calls to {{ "{{ $labels.tool }}" }} are denied by policy: an agent is probing, or a policy change removed a grant it needs."
        - alert: McpAuditWriteFailing
          expr: sum(increase(mcp_audit_write_failures_total{ {{- $sel -}} }[5m])) > 0
          for: 10m
          labels:
            severity: critical
            mcp_server: {{ $server }}
          annotations:
            summary: {{ printf "%s cannot write audit records to the fleet database" $server | quote }}
            description: "Audit records queue in memory and are retried; check the fleet database."
        - alert: McpAuditBacklog
          expr: max(mcp_audit_queue_records{ {{- $sel -}} }) > {{ $t.auditQueueRecords }}
          for: 10m
          labels:
            severity: critical
            mcp_server: {{ $server }}
          annotations:
            summary: {{ printf "%s has an audit backlog" $server | quote }}
            description: "More than {{ $t.auditQueueRecords }} audit records wait for the fleet database; when the queue is full, records are kept only on stdout."
        - alert: McpAuditRecordsDropped
          expr: sum(increase(mcp_audit_dropped_total{ {{- $sel -}} }[5m])) > 0
          labels:
            severity: critical
            mcp_server: {{ $server }}
          annotations:
            summary: {{ printf "%s dropped audit records from the database queue" $server | quote }}
            description: "Dropped records are only in the pods' stdout logs (\"audit\":true); collect them before the logs rotate."
        - alert: McpPolicyReloadRejected
          expr: sum(increase(mcp_policy_reloads_total{ {{- $sel -}}, result="rejected"}[10m])) > 0
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            summary: {{ printf "%s refused a new policy" $server | quote }}
            description: "The changed policy file is invalid; the previous policy stays in force. See the pod logs for the reason."
{{- end -}}
{{- end -}}
