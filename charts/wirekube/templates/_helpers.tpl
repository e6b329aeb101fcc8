{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "wirekube.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name alone when it already contains the chart name. */}}
{{- define "wirekube.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "wirekube.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "wirekube.labels" -}}
helm.sh/chart: {{ include "wirekube.chart" . }}
{{ include "wirekube.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wirekube
{{- end }}

{{- define "wirekube.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wirekube.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels and selector labels of one component: (dict "root" $ "component" "agent"). */}}
{{- define "wirekube.componentLabels" -}}
{{ include "wirekube.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "wirekube.componentSelectorLabels" -}}
{{ include "wirekube.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Object name of a component: "<fullname>-<component>". */}}
{{- define "wirekube.componentName" -}}
{{- printf "%s-%s" (include "wirekube.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* ServiceAccount name of a component. */}}
{{- define "wirekube.serviceAccountName" -}}
{{- $values := index .root.Values .component }}
{{- if $values.serviceAccount.create }}
{{- default (include "wirekube.componentName" .) $values.serviceAccount.name }}
{{- else }}
{{- default "default" $values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference of a component. */}}
{{- define "wirekube.image" -}}
{{- $values := index .root.Values .component }}
{{- printf "%s/%s:%s" .root.Values.image.registry $values.image.repository (coalesce $values.image.tag .root.Values.image.tag .root.Chart.AppVersion) }}
{{- end }}

{{/*
The relay Service name the agents look up (agent --relay-service). Fixed to "<fullname>-relay" so that the
agent and the Service agree without another value.
*/}}
{{- define "wirekube.relayServiceName" -}}
{{- include "wirekube.componentName" (dict "root" . "component" "relay") }}
{{- end }}

{{/* "true" when the chart deploys the relay: provider managed and a mode that uses a relay. */}}
{{- define "wirekube.relayManaged" -}}
{{- $relay := .Values.mesh.relay | default dict }}
{{- if and (eq ($relay.provider | default "") "managed") (ne ($relay.mode | default "auto") "never") }}true{{ end }}
{{- end }}

{{/*
The relay's source-penalty burst: values.relay.sourcePenalty.burst where the relay sees each client's own address
(a LoadBalancer Service with externalTrafficPolicy Local), else 0 — behind kube-proxy's SNAT every client shares
a node's address, and penalizing it would refuse them all.
*/}}
{{- define "wirekube.relaySourcePenaltyBurst" -}}
{{- $managed := .Values.mesh.relay.managed | default dict }}
{{- $lb := eq ($managed.serviceType | default "LoadBalancer") "LoadBalancer" }}
{{- $local := eq (.Values.relay.externalTrafficPolicy | default "Local") "Local" }}
{{- if and $lb $local }}{{ .Values.relay.sourcePenalty.burst | int64 }}{{ else }}0{{ end }}
{{- end }}

{{/*
KUBERNETES_SERVICE_HOST/PORT for a pod that must reach the API server at its real address (apiServer.host):
client libraries read these in-cluster, so the pod's own code needs no flag.
*/}}
{{- define "wirekube.apiServerEnv" -}}
{{- with .Values.apiServer }}
{{- if .host }}
- name: KUBERNETES_SERVICE_HOST
  value: {{ .host | quote }}
- name: KUBERNETES_SERVICE_PORT
  value: {{ .port | default 6443 | quote }}
{{- end }}
{{- end }}
{{- end }}
