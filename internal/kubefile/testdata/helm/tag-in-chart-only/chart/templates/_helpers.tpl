{{- define "hub.fullname" -}}
{{- $name := default "acme-hub" .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "hub.core" -}}
  {{- printf "%s-core" (include "hub.fullname" .) -}}
{{- end -}}

{{- define "hub.jobservice" -}}
  {{- printf "%s-jobservice" (include "hub.fullname" .) -}}
{{- end -}}

{{- define "hub.labels" -}}
heritage: {{ .Release.Service }}
release: {{ .Release.Name }}
chart: {{ .Chart.Name }}
app: "acme-hub"
{{- end -}}
