{{- define "tollgate.fullname" -}}
{{ .Release.Name }}-tollgate
{{- end }}

{{- define "tollgate.labels" -}}
app.kubernetes.io/name: tollgate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{- define "tollgate.selector" -}}
app.kubernetes.io/name: tollgate
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tollgate.secretName" -}}
{{- if .Values.existingSecret }}{{ .Values.existingSecret }}{{- else }}{{ .Release.Name }}-tollgate{{- end }}
{{- end }}

{{- define "tollgate.redisUrl" -}}
{{- if .Values.redis.enabled }}redis://{{ .Release.Name }}-redis:6379{{- else }}{{ .Values.redis.externalUrl }}{{- end }}
{{- end }}

{{- define "tollgate.cpuLimit" -}}
{{- if .Values.resources.limits }}{{ .Values.resources.limits.cpu }}{{- end }}
{{- end }}
