{{/* Names, labels and the pieces every OtelMon pod shares. */}}

{{- define "otelmon.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "otelmon.fullname" -}}
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

{{/* The collector's objects: "<fullname>-collector", kept within 63 characters. */}}
{{- define "otelmon.collector.fullname" -}}
{{- printf "%s-collector" (include "otelmon.fullname" . | trunc 53 | trimSuffix "-") }}
{{- end }}

{{- define "otelmon.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "otelmon.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: otelmon
{{- end }}

{{/* Selector labels of one component: api, collector, migrations or digest. */}}
{{- define "otelmon.selectorLabels" -}}
app.kubernetes.io/name: {{ include "otelmon.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "otelmon.componentLabels" -}}
{{ include "otelmon.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "otelmon.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "otelmon.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The API image, pinned: "latest" or no tag at all is refused. */}}
{{- define "otelmon.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag | toString }}
{{- if or (eq $tag "latest") (eq $tag "") }}
{{- fail "image.tag must name a pinned version, not \"latest\"" }}
{{- end }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}

{{/* The Secret with OTELMON_DATABASE_URL and the other secrets: the user's own, or the chart's. */}}
{{- define "otelmon.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "otelmon.fullname" . }}
{{- end }}
{{- end }}

{{/*
The chart's Secret's data. Settings that are secrets (the database URL carries its password) never go into the
ConfigMap: naming one under config stops the render.
*/}}
{{- define "otelmon.secretData" -}}
{{- if not .Values.database.url }}
{{- fail "database.url is required (mysql+pymysql://USER:PASSWORD@HOST:3306/otelmon), or set secrets.existingSecret" }}
{{- end }}
{{- /* Never echoed: the URL carries the password. */}}
{{- if not (regexMatch "^(mysql|mariadb)(\\+[a-z]+)?://" .Values.database.url) }}
{{- fail "database.url must be a MariaDB URL such as mysql+pymysql://USER:PASSWORD@HOST:3306/otelmon (SQLite cannot be shared by replicas)" }}
{{- end }}
OTELMON_DATABASE_URL: {{ .Values.database.url | b64enc | quote }}
{{- with .Values.secrets.ingestToken }}
OTELMON_INGEST_TOKEN: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.secrets.secretKey }}
OTELMON_SECRET_KEY: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.secrets.smtpPassword }}
OTELMON_SMTP_PASSWORD: {{ . | b64enc | quote }}
{{- end }}
{{- range $key, $value := .Values.secrets.extra }}
{{ $key }}: {{ $value | toString | b64enc | quote }}
{{- end }}
{{- end }}

{{- define "otelmon.checkConfig" -}}
{{- range $key := list "OTELMON_DATABASE_URL" "OTELMON_INGEST_TOKEN" "OTELMON_SECRET_KEY" "OTELMON_SMTP_PASSWORD" "SMTP_PASSWORD" }}
{{- if hasKey $.Values.config $key }}
{{- fail (printf "config.%s is a secret: set it under secrets (or in secrets.existingSecret), not config" $key) }}
{{- end }}
{{- end }}
{{- if hasKey .Values.config "OTELMON_NOTIFY_CONFIG" }}
{{- fail "config.OTELMON_NOTIFY_CONFIG is set by the chart: put the receivers file's text in notify.config" }}
{{- end }}
{{- end }}

{{/* Environment of every otelmon container: settings from the ConfigMap, secrets from the Secret. */}}
{{- define "otelmon.envFrom" -}}
- configMapRef:
    name: {{ include "otelmon.fullname" . }}
- secretRef:
    name: {{ include "otelmon.secretName" . }}
{{- end }}

{{- define "otelmon.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "otelmon.containerSecurityContext" -}}
{{ toYaml .Values.securityContext }}
{{- end }}

{{/* Pod template annotations: a changed setting, secret or receivers file rolls the pods. */}}
{{- define "otelmon.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/* The writable /tmp of a read-only root file system. */}}
{{- define "otelmon.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}
