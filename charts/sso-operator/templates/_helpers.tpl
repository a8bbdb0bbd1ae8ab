{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "sso-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name. For the default release name `sso-operator` this is `sso-operator`, which is also the
ServiceAccount name; keep it stable (RBAC subjects and docs use it).
*/}}
{{- define "sso-operator.fullname" -}}
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

{{- define "sso-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable for the life of the release (a Deployment selector is immutable). */}}
{{- define "sso-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sso-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sso-operator.labels" -}}
helm.sh/chart: {{ include "sso-operator.chart" . }}
{{ include "sso-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: sso-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "sso-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sso-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sso-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The rules the operator needs in the namespaces it watches, and nothing more. Shared by the
ClusterRole (all namespaces) and the Role (watchNamespace). Keep in step with tests/chart.rs.
*/}}
{{- define "sso-operator.rules" -}}
# Watch both kinds (the start-up check is a list on them too). Finalizer add/remove is a patch (or
# update) of the main resource.
- apiGroups: ["sso-operator.dev"]
  resources: ["salesforceorgs", "ssoconnectedapps"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["sso-operator.dev"]
  resources: ["salesforceorgs/status", "ssoconnectedapps/status"]
  verbs: ["patch", "update"]
- apiGroups: ["sso-operator.dev"]
  resources: ["salesforceorgs/finalizers", "ssoconnectedapps/finalizers"]
  verbs: ["patch", "update"]
# The published IdP metadata ConfigMaps (it only changes ConfigMaps it owns).
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# The JWT key / client-credentials Secrets a SalesforceOrg points at: get only, never list or watch.
- apiGroups: [""]
  resources: ["secrets"]
  {{- with .Values.rbac.secretNames }}
  resourceNames: {{ toJson . }}
  {{- end }}
  verbs: ["get"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.rollout.enabled }}
# publish.rollout: annotate the pod template of listed workloads (patch only; never get, create or delete).
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["patch"]
{{- end }}
{{- end }}
