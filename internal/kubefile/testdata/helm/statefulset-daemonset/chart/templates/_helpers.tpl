{{- define "store.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* the agent image: registry (global first), repository, tag ("v" + appVersion when empty), digest */}}
{{- define "store.agent.image" -}}
{{- $reg := .Values.global.imageRegistry | default .Values.agent.image.registry -}}
{{- $tag := default (printf "v%s" .Chart.AppVersion) .Values.agent.image.tag -}}
{{- if .Values.agent.image.digest -}}
{{- printf "%s/%s:%s@%s" $reg .Values.agent.image.repository $tag .Values.agent.image.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $reg .Values.agent.image.repository $tag -}}
{{- end -}}
{{- end -}}
