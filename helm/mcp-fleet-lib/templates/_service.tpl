{{/* The Service: one stable name for all replicas (MCP here is stateless: no session affinity). */}}
{{- define "mcp-fleet-lib.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "mcp-fleet-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mcp-fleet-lib.labels" . | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "mcp-fleet-lib.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{/* The ServiceAccount; its token is never mounted (see the Deployment). */}}
{{- define "mcp-fleet-lib.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "mcp-fleet-lib.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mcp-fleet-lib.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}
{{- end -}}

{{/* The policy ConfigMap, unless an existing or fleet-wide one is used. */}}
{{- define "mcp-fleet-lib.policyConfigMap" -}}
{{- $policy := fromYaml (include "mcp-fleet-lib.policySource" .) -}}
{{- if $policy.create -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $policy.name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mcp-fleet-lib.labels" . | nindent 4 }}
data:
  policy.yaml: |
    {{- $policy.content | nindent 4 }}
{{- end -}}
{{- end -}}

{{/* The ConfigMaps of the configFiles given as `content` (one document each). */}}
{{- define "mcp-fleet-lib.configFileMaps" -}}
{{- $ctx := . -}}
{{- range (fromYaml (include "mcp-fleet-lib.configFiles" .)).files }}
{{- if .create }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .configMap | quote }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "mcp-fleet-lib.labels" $ctx | nindent 4 }}
data:
  {{ .key }}: |
    {{- .content | nindent 4 }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The files volume claim, when persistence is on and no existing claim is given. */}}
{{- define "mcp-fleet-lib.pvc" -}}
{{- $p := .Values.persistence -}}
{{- if and $p.mountPath $p.enabled (not $p.existingClaim) -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ printf "%s-data" (include "mcp-fleet-lib.fullname" .) }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mcp-fleet-lib.labels" . | nindent 4 }}
  annotations:
    # Kept on uninstall: the documents outlive the release.
    helm.sh/resource-policy: keep
spec:
  accessModes:
    {{- toYaml $p.accessModes | nindent 4 }}
  {{- with $p.storageClassName }}
  storageClassName: {{ . | quote }}
  {{- end }}
  resources:
    requests:
      storage: {{ $p.size | quote }}
{{- end -}}
{{- end -}}

{{/* The HorizontalPodAutoscaler, when enabled (the Deployment then leaves replicas to it). */}}
{{- define "mcp-fleet-lib.hpa" -}}
{{- if .Values.autoscaling.enabled -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "mcp-fleet-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mcp-fleet-lib.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "mcp-fleet-lib.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    {{- with .Values.autoscaling.targetCPUUtilizationPercentage }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
    {{- with .Values.autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
  {{- with .Values.autoscaling.behavior }}
  behavior:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
{{- end -}}

{{/* The PodDisruptionBudget: node drains take at most maxUnavailable pods at a time. */}}
{{- define "mcp-fleet-lib.pdb" -}}
{{- if .Values.podDisruptionBudget.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "mcp-fleet-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mcp-fleet-lib.labels" . | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable) }}
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  {{- end }}
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "mcp-fleet-lib.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}
