{{/* The chart's short name, nameOverride first. */}}
{{- define "acme-web.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The objects' full name: fullnameOverride, else RELEASE-NAME (or RELEASE alone when it
already holds NAME), cut to 63 characters.
*/}}
{{- define "acme-web.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $n := .Values.nameOverride | default .Chart.Name }}
{{- if contains $n .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $n | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "acme-web.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "acme-web.selectorLabels" -}}
app.kubernetes.io/name: {{ include "acme-web.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The version label reads image.tag too: the tag feeds a label besides the image. */}}
{{- define "acme-web.labels" -}}
helm.sh/chart: {{ include "acme-web.chart" . }}
{{ include "acme-web.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "acme-web.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "acme-web.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}
