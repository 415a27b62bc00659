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

{{- define "tollgate.cpuLimit" -}}
{{- if .Values.resources.limits }}{{ .Values.resources.limits.cpu }}{{- end }}
{{- end }}

{{- /* REDIS_URL and DATABASE_URL, from the values or from the Secrets they name (env wins over envFrom). */ -}}
{{- define "tollgate.storeEnv" -}}
- name: REDIS_URL
{{- if .Values.redis.enabled }}
  value: "redis://{{ .Release.Name }}-redis:6379"
{{- else }}
{{- if .Values.redis.external.existingSecret }}
  valueFrom:
    secretKeyRef: { name: {{ .Values.redis.external.existingSecret | quote }}, key: {{ .Values.redis.external.existingSecretKey | quote }} }
{{- else }}
  value: {{ .Values.redis.external.url | quote }}
{{- end }}
{{- end }}
{{- if .Values.postgres.existingSecret }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef: { name: {{ .Values.postgres.existingSecret | quote }}, key: {{ .Values.postgres.existingSecretKey | quote }} }
{{- end }}
{{- end }}
