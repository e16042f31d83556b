{{/*
The whole image reference of one image map.
  {{ include "common.images.image" (dict "imageRoot" .Values.path.to.image "global" .Values.global "chart" .Chart) }}
global.imageRegistry, when set, wins over the map's registry; a digest replaces the tag;
an empty tag falls back to the chart's appVersion.
*/}}
{{- define "common.images.image" -}}
{{- $reg := default .imageRoot.registry ((.global).imageRegistry) -}}
{{- $sep := ":" -}}
{{- $ref := .imageRoot.tag | toString -}}
{{- if and (not .imageRoot.tag) .chart -}}
  {{- $ref = .chart.AppVersion | toString -}}
{{- end -}}
{{- if .imageRoot.digest -}}
  {{- $sep = "@" -}}
  {{- $ref = .imageRoot.digest | toString -}}
{{- end -}}
{{- if $reg -}}
  {{- printf "%s/%s%s%s" $reg .imageRoot.repository $sep $ref -}}
{{- else -}}
  {{- printf "%s%s%s" .imageRoot.repository $sep $ref -}}
{{- end -}}
{{- end -}}

{{/* imagePullSecrets of the given image maps and of global.imagePullSecrets. */}}
{{- define "common.images.renderPullSecrets" -}}
{{- $names := list -}}
{{- range ((.context.Values.global).imagePullSecrets) -}}
  {{- $names = append $names . -}}
{{- end -}}
{{- range .images -}}
  {{- range .pullSecrets -}}
    {{- $names = append $names . -}}
  {{- end -}}
{{- end -}}
{{- if $names }}
imagePullSecrets:
{{- range $names | uniq }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}
