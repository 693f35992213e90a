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
{{- $runbook := .Values.prometheusRule.runbookBaseUrl | default "docs/operating.md" -}}
{{- $audit := $g.audit | default dict -}}
{{- $redis := fromYaml (include "mcp-fleet-lib.secretRef" (dict "ctx" . "name" "redis")) -}}
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
            runbook_url: {{ printf "%s#mcpserverdown" $runbook | quote }}
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
            runbook_url: {{ printf "%s#mcptoolerrorratehigh" $runbook | quote }}
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
            runbook_url: {{ printf "%s#mcptoollatencyhigh" $runbook | quote }}
            summary: {{ printf "p95 latency of a %s tool is above %vs" $server $t.toolLatencyP95Seconds | quote }}
            description: "Tool {{ "{{ $labels.tool }}" }} answers slowly; agents will time out and retry."
        - alert: McpAuthFailuresHigh
          expr: sum by (reason) (rate(mcp_auth_failures_total{ {{- $sel -}} }[5m])) > {{ $t.authFailuresPerSecond }}
          for: 10m
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcpauthfailureshigh" $runbook | quote }}
            summary: {{ printf "%s refuses many tokens" $server | quote }}
            description: "Authentication failures ({{ "{{ $labels.reason }}" }}): a misconfigured client or IdP, rotated keys, or someone probing."
        - alert: McpPolicyDenialsHigh
          expr: sum by (tool) (rate(mcp_policy_denials_total{ {{- $sel -}} }[10m])) > {{ $t.policyDenialsPerSecond }}
          for: 15m
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcppolicydenialshigh" $runbook | quote }}
            summary: {{ printf "%s denies many calls by policy" $server | quote }}
            description: "Calls to {{ "{{ $labels.tool }}" }} are denied by policy: an agent is probing, or a policy change removed a grant it needs."
        - alert: McpAuditWriteFailing
          expr: sum(increase(mcp_audit_write_failures_total{ {{- $sel -}} }[5m])) > 0
          for: 10m
          labels:
            severity: critical
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcpauditwritefailing" $runbook | quote }}
            summary: {{ printf "%s cannot write audit records to the fleet database" $server | quote }}
            description: "Audit records queue in memory and are retried; check the fleet database."
        - alert: McpAuditBacklog
          expr: max(mcp_audit_queue_records{ {{- $sel -}} }) > {{ $t.auditQueueRecords }}
          for: 10m
          labels:
            severity: critical
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcpauditbacklog" $runbook | quote }}
            summary: {{ printf "%s has an audit backlog" $server | quote }}
            description: "More than {{ $t.auditQueueRecords }} audit records wait for the fleet database; when the queue is full, records are kept only on stdout."
        - alert: McpAuditRecordsDropped
          expr: sum(increase(mcp_audit_dropped_total{ {{- $sel -}} }[5m])) > 0
          labels:
            severity: critical
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcpauditrecordsdropped" $runbook | quote }}
            summary: {{ printf "%s dropped audit records from the database queue" $server | quote }}
            description: "Dropped records are only in the pods' stdout logs (\"audit\":true); collect them before the logs rotate."
        - alert: McpPolicyReloadRejected
          expr: sum(increase(mcp_policy_reloads_total{ {{- $sel -}}, result="rejected"}[10m])) > 0
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcppolicyreloadrejected" $runbook | quote }}
            summary: {{ printf "%s refused a new policy" $server | quote }}
            description: "The changed policy file is invalid; the previous policy stays in force. See the pod logs for the reason."
        - alert: McpBreakerOpen
          expr: max by (upstream) (mcp_breaker_state{ {{- $sel -}} }) == 2
          for: {{ $t.breakerOpenMinutes }}m
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcpbreakeropen" $runbook | quote }}
            summary: {{ printf "An upstream of %s has been unreachable for %v minutes" $server $t.breakerOpenMinutes | quote }}
            description: "The circuit breaker of {{ "{{ $labels.upstream }}" }} is open: its tools answer upstream_unavailable at once."
        - alert: McpApprovalQueueStale
          expr: max(mcp_approval_oldest_pending_seconds{ {{- $sel -}} }) > {{ $t.approvalOldestPendingSeconds }}
          for: 5m
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcpapprovalqueuestale" $runbook | quote }}
            summary: {{ printf "An approval request of %s has waited more than %vs" $server $t.approvalOldestPendingSeconds | quote }}
            description: "Calls wait for a person's decision and nobody is deciding: agents are stuck or will give up."
        - alert: McpBudgetStoppedSpike
          expr: sum by (tool) (rate(mcp_budget_exceeded_total{ {{- $sel -}} }[10m])) > {{ $t.budgetExceededPerSecond }}
          for: 10m
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcpbudgetstoppedspike" $runbook | quote }}
            summary: {{ printf "Many %s calls are stopped by a spent budget" $server | quote }}
            description: "Calls to {{ "{{ $labels.tool }}" }} are refused with budget_exceeded: an agent is looping, or a budget is too small for real work."
        - alert: McpAnomalousToolSequences
          expr: |
            sum(increase(mcp_anomaly_held_total{ {{- $sel -}} }[10m])) > 0
            or
            (sum(rate(mcp_anomaly_score_count{ {{- $sel -}} }[30m])) - sum(rate(mcp_anomaly_score_bucket{ {{- $sel -}}, le={{ $t.anomalyScoreBits | toString | quote }}}[30m])))
              / sum(rate(mcp_anomaly_score_count{ {{- $sel -}} }[30m])) > {{ $t.anomalousCallRatio }}
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcpanomaloustoolsequences" $runbook | quote }}
            summary: {{ printf "%s holds or sees unusual tool sequences" $server | quote }}
            description: "Calls were held for their anomaly score, or more than {{ $t.anomalousCallRatio }} of scored calls scored above {{ $t.anomalyScoreBits }} bits over 30 minutes: read the console's Unusual sequences page."
        {{- if $redis.existingSecret }}
        - alert: McpRedisDown
          expr: min(mcp_redis_up{ {{- $sel -}} }) == 0
          for: {{ $t.redisDownMinutes }}m
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcpredisdown" $runbook | quote }}
            summary: {{ printf "A %s replica cannot reach Redis" $server | quote }}
            description: "Rate limits and the result cache fall back to each process: limits are per replica (looser) and the cache is not shared."
        {{- end }}
        {{- if gt (int ($audit.retentionDays | default 0)) 0 }}
        - alert: McpAuditRetentionFailing
          expr: sum(increase(mcp_audit_retention_runs_total{ {{- $sel -}}, result="failed"}[{{ mul (int ($audit.retentionIntervalMinutes | default 60)) 2 }}m])) > 0
          labels:
            severity: warning
            mcp_server: {{ $server }}
          annotations:
            runbook_url: {{ printf "%s#mcpauditretentionfailing" $runbook | quote }}
            summary: {{ printf "The audit retention job failed in %s" $server | quote }}
            description: "Old audit records are not being deleted; the pod logs say why (\"audit retention run failed\")."
        - alert: McpAuditRetentionNotRunning
          expr: time() - max(mcp_audit_retention_last_success_timestamp_seconds{namespace={{ .Release.Namespace | quote }}}) > {{ mul $t.auditRetentionStaleHours 3600 }}
          for: 15m
          labels:
            severity: warning
          annotations:
            runbook_url: {{ printf "%s#mcpauditretentionnotrunning" $runbook | quote }}
            summary: "No replica of the fleet has finished an audit retention run for {{ $t.auditRetentionStaleHours }} hours"
            description: "One replica at a time runs it (an advisory lock in the fleet database); none has finished lately. The audit table grows past the retention window."
        {{- end }}
{{- end -}}
{{- end -}}
