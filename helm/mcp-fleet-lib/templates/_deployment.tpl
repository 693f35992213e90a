{{/* The server's Deployment: stateless replicas behind one Service, rolled with no unavailability. */}}
{{- define "mcp-fleet-lib.deployment" -}}
{{- $fullname := include "mcp-fleet-lib.fullname" . -}}
{{- $auth := fromYaml (include "mcp-fleet-lib.auth" .) -}}
{{- $policy := fromYaml (include "mcp-fleet-lib.policySource" .) -}}
{{- $redis := fromYaml (include "mcp-fleet-lib.secretRef" (dict "ctx" . "name" "redis")) -}}
{{- $persistence := .Values.persistence -}}
{{- $files := (fromYaml (include "mcp-fleet-lib.configFiles" .)).files -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mcp-fleet-lib.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: {{ .Values.revisionHistoryLimit }}
  minReadySeconds: {{ .Values.minReadySeconds }}
  selector:
    matchLabels:
      {{- include "mcp-fleet-lib.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      # maxUnavailable 0: a new pod must be ready before an old one goes, so a rollout never
      # lowers capacity; maxSurge bounds how many extra pods a rollout adds at once.
      maxSurge: {{ .Values.rollingUpdate.maxSurge }}
      maxUnavailable: {{ .Values.rollingUpdate.maxUnavailable }}
  template:
    metadata:
      labels:
        {{- include "mcp-fleet-lib.selectorLabels" . | nindent 8 }}
        app.kubernetes.io/component: mcp-server
        app.kubernetes.io/part-of: mcp-fleet
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if or .Values.podAnnotations (and .Values.policy.rollOnChange $policy.content) }}
      annotations:
        {{- if and .Values.policy.rollOnChange $policy.content }}
        # Rolls the pods when the policy changes; without it the servers hot-reload the file.
        checksum/policy: {{ $policy.content | sha256sum }}
        {{- end }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "mcp-fleet-lib.serviceAccountName" . }}
      # The servers never call the Kubernetes API: no token in the pod.
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with include "mcp-fleet-lib.imagePullSecrets" . }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- with .Values.priorityClassName }}
      priorityClassName: {{ . | quote }}
      {{- end }}
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      securityContext:
        {{- include "mcp-fleet-lib.podSecurityContext" . | nindent 8 }}
      {{- if .Values.topologySpread.enabled }}
      topologySpreadConstraints:
        {{- range .Values.topologySpread.constraints }}
        - topologyKey: {{ .topologyKey | quote }}
          maxSkew: {{ .maxSkew }}
          whenUnsatisfiable: {{ .whenUnsatisfiable }}
          {{- with .minDomains }}
          minDomains: {{ . }}
          {{- end }}
          labelSelector:
            matchLabels:
              {{- include "mcp-fleet-lib.selectorLabels" $ | nindent 14 }}
          # Count only pods of the same rollout, so a rolling update is spread as well.
          matchLabelKeys:
            - pod-template-hash
        {{- end }}
      {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: server
          image: {{ include "mcp-fleet-lib.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          env:
            - name: HOST
              value: "0.0.0.0"
            - name: PORT
              value: "8080"
            - name: NODE_ENV
              value: production
            - name: PUBLIC_URL
              value: {{ include "mcp-fleet-lib.publicUrl" . | quote }}
            - name: ALLOWED_HOSTS
              value: {{ include "mcp-fleet-lib.allowedHosts" . | quote }}
            - name: ALLOWED_ORIGINS
              value: {{ include "mcp-fleet-lib.allowedOrigins" . | quote }}
            - name: AUTH_ISSUER
              value: {{ $auth.issuer | quote }}
            - name: AUTH_JWKS_URL
              value: {{ $auth.jwksUrl | quote }}
            {{- with $auth.audience }}
            - name: AUTH_AUDIENCE
              value: {{ . | quote }}
            {{- end }}
            {{- with $auth.algorithms }}
            - name: AUTH_ALGORITHMS
              value: {{ join "," . | quote }}
            {{- end }}
            {{- with $auth.requiredScopes }}
            - name: AUTH_REQUIRED_SCOPES
              value: {{ join "," . | quote }}
            {{- end }}
            {{- range $claim, $name := $auth.claims }}
            - name: {{ printf "AUTH_CLAIM_%s" (upper $claim) }}
              value: {{ $name | quote }}
            {{- end }}
            - name: POLICY_FILE
              value: /etc/mcp-fleet/policy/policy.yaml
            {{- $tracing := (fromYaml (include "mcp-fleet-lib.global" .)).tracing | default dict }}
            {{- with $tracing.otlpEndpoint }}
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ . | quote }}
            - name: OTEL_SERVICE_NAME
              value: {{ $.Chart.Name | quote }}
            {{- if hasKey $tracing "sampleRatio" }}
            - name: OTEL_TRACES_SAMPLER_ARG
              value: {{ $tracing.sampleRatio | toString | quote }}
            {{- end }}
            {{- end }}
            {{- $audit := (fromYaml (include "mcp-fleet-lib.global" .)).audit | default dict }}
            {{- if gt (int ($audit.retentionDays | default 0)) 0 }}
            - name: AUDIT_RETENTION_DAYS
              value: {{ int $audit.retentionDays | quote }}
            - name: AUDIT_RETENTION_INTERVAL_MS
              value: {{ mul (int ($audit.retentionIntervalMinutes | default 60)) 60000 | quote }}
            {{- end }}
            {{- include "mcp-fleet-lib.databaseEnv" . | nindent 12 }}
            {{- if $redis.existingSecret }}
            - name: REDIS_URL
              valueFrom:
                secretKeyRef:
                  name: {{ $redis.existingSecret | quote }}
                  key: {{ $redis.key | quote }}
            {{- end }}
            # The release's hook Job has migrated the database before these pods start.
            - name: MIGRATE_ON_START
              value: "false"
            - name: LOG_LEVEL
              value: {{ .Values.logLevel | quote }}
            - name: TOOL_TIMEOUT_MS
              value: {{ .Values.toolTimeoutMs | quote }}
            - name: SHUTDOWN_GRACE_MS
              value: {{ .Values.shutdownGraceMs | quote }}
            {{- if $persistence.mountPath }}
            - name: {{ $persistence.envName }}
              value: {{ $persistence.mountPath | quote }}
            {{- end }}
            {{- range $name, $ref := .Values.secretEnv }}
            {{- $secretName := $ref.secretName | default $.Values.credentials.existingSecret }}
            {{- if $secretName }}
            - name: {{ $name }}
              valueFrom:
                secretKeyRef:
                  name: {{ $secretName | quote }}
                  key: {{ $ref.key | quote }}
                  optional: {{ $ref.optional | default false }}
            {{- end }}
            {{- end }}
            {{- range $name, $value := .Values.env }}
            - name: {{ $name }}
              value: {{ $value | quote }}
            {{- end }}
            {{- range $files }}
            - name: {{ .env }}
              value: {{ .path | quote }}
            {{- end }}
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: {{ .Values.probes.startup.periodSeconds }}
            timeoutSeconds: {{ .Values.probes.startup.timeoutSeconds }}
            failureThreshold: {{ .Values.probes.startup.failureThreshold }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
            timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
            failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
            timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
            failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- include "mcp-fleet-lib.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: policy
              mountPath: /etc/mcp-fleet/policy
              readOnly: true
            {{- if $persistence.mountPath }}
            - name: data
              mountPath: {{ $persistence.mountPath | quote }}
              readOnly: {{ $persistence.readOnly }}
            {{- end }}
            {{- range $files }}
            - name: {{ printf "file-%s" .slug }}
              mountPath: {{ .dir | quote }}
              readOnly: true
            {{- end }}
      volumes:
        # The only writable paths: /tmp (and the files server's data volume).
        - name: tmp
          emptyDir:
            sizeLimit: {{ .Values.tmpSizeLimit }}
        # Mounted as a directory (no subPath) so that ConfigMap updates reach the running pods.
        - name: policy
          configMap:
            name: {{ $policy.name }}
            items:
              - key: {{ $policy.key | quote }}
                path: policy.yaml
        {{- if $persistence.mountPath }}
        - name: data
          {{- if $persistence.enabled }}
          persistentVolumeClaim:
            claimName: {{ $persistence.existingClaim | default (printf "%s-data" $fullname) }}
          {{- else }}
          emptyDir: {}
          {{- end }}
        {{- end }}
        {{- range $files }}
        - name: {{ printf "file-%s" .slug }}
          configMap:
            name: {{ .configMap | quote }}
            items:
              - key: {{ .key | quote }}
                path: {{ .key | quote }}
        {{- end }}
{{- end -}}
