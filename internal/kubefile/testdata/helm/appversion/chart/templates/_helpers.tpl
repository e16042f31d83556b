{{- define "api.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "api.proxyImage" -}}
{{- printf "%s/%s:%s" .Values.proxy.image.registry .Values.proxy.image.repository (default (printf "v%s" .Chart.AppVersion) .Values.proxy.image.tag) -}}
{{- end -}}
