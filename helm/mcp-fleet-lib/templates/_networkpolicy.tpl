{{/*
The NetworkPolicy: in, only the gateway (ingress controller / API gateway), monitoring and any
extra peers may reach the server's port; out, only DNS and the TCP ports this server needs.
*/}}
{{- define "mcp-fleet-lib.networkPolicy" -}}
{{- if .Values.networkPolicy.enabled -}}
{{- $g := fromYaml (include "mcp-fleet-lib.global" .) -}}
{{- $gnp := $g.networkPolicy | default dict -}}
{{- $in := .Values.networkPolicy.ingress -}}
{{- $gateway := $in.gatewayNamespaces | default $gnp.gatewayNamespaces | default list -}}
{{- $monitoring := $in.monitoringNamespaces | default $gnp.monitoringNamespaces | default list -}}
{{- $namespaces := concat $gateway $monitoring | uniq -}}
{{- $eg := .Values.networkPolicy.egress -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "mcp-fleet-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "mcp-fleet-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "mcp-fleet-lib.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  ingress:
    {{- if or $namespaces $in.allowSameNamespace $in.extraFrom }}
    - from:
        {{- if $namespaces }}
        - namespaceSelector:
            matchExpressions:
              - key: kubernetes.io/metadata.name
                operator: In
                values:
                  {{- toYaml $namespaces | nindent 18 }}
        {{- end }}
        {{- if $in.allowSameNamespace }}
        - podSelector: {}
        {{- end }}
        {{- with $in.extraFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - port: http
          protocol: TCP
    {{- end }}
  egress:
    {{- if $eg.dns }}
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: kube-system
          podSelector:
            matchLabels:
              k8s-app: kube-dns
      ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    {{- end }}
    {{- range $name, $rule := $eg.allow }}
    {{- if $rule.enabled }}
    {{- /* the rule's name, quoted: a line break in it cannot add a rule */}}
    # {{ $name | quote }}
    - ports:
        {{- range $rule.ports }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
      {{- with $rule.to }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- end }}
    {{- with $eg.extraRules }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
{{- end -}}
