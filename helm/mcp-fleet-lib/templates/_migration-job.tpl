{{/*
The migration Job: `node dist/main.js migrate` applies the fleet database migrations once per
release, as a pre-install/pre-upgrade hook. It runs before any new pod starts, so servers never
serve on a schema older than their code, and a failed migration stops the release before the
rollout (the old pods keep serving). An init container would instead run once per pod start,
with replicas racing each other.
*/}}
{{- define "mcp-fleet-lib.migrationJob" -}}
{{- if .Values.migrations.enabled -}}
{{- $name := printf "%s-migrate" (include "mcp-fleet-lib.fullname" .) | trunc 63 | trimSuffix "-" -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
    app.kubernetes.io/name: {{ printf "%s-migrate" (include "mcp-fleet-lib.name" .) }}
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/version: {{ include "mcp-fleet-lib.imageTag" . | trunc 63 | quote }}
    app.kubernetes.io/managed-by: {{ .Release.Service }}
    app.kubernetes.io/component: migrations
    app.kubernetes.io/part-of: mcp-fleet
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-5"
    # Kept after a failure for `kubectl logs`; replaced by the next attempt.
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: {{ .Values.migrations.backoffLimit }}
  activeDeadlineSeconds: {{ .Values.migrations.activeDeadlineSeconds }}
  template:
    metadata:
      labels:
        # Not the server's selector labels: the Service and the PDB must never count this pod.
        app.kubernetes.io/name: {{ printf "%s-migrate" (include "mcp-fleet-lib.name" .) }}
        app.kubernetes.io/instance: {{ .Release.Name }}
        app.kubernetes.io/component: migrations
        app.kubernetes.io/part-of: mcp-fleet
    spec:
      restartPolicy: Never
      # Hooks run before the release's ServiceAccount exists; the Job needs no API access anyway.
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with include "mcp-fleet-lib.imagePullSecrets" . }}
      {{- . | nindent 6 }}
      {{- end }}
      securityContext:
        {{- include "mcp-fleet-lib.podSecurityContext" . | nindent 8 }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: migrate
          image: {{ include "mcp-fleet-lib.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command: ["node", "dist/main.js", "migrate"]
          env:
            - name: NODE_ENV
              value: production
            - name: LOG_LEVEL
              value: {{ .Values.logLevel | quote }}
            {{- include "mcp-fleet-lib.databaseEnv" . | nindent 12 }}
          resources:
            {{- toYaml .Values.migrations.resources | nindent 12 }}
          securityContext:
            {{- include "mcp-fleet-lib.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}
{{- end -}}
