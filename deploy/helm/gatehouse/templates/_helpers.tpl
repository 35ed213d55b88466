{{/* Names and labels every object shares. */}}

{{- define "gatehouse.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gatehouse.labels" -}}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "gatehouse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gatehouse.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret the credentials come from: the one named, or the one this chart makes. */}}
{{- define "gatehouse.secretName" -}}
{{- default (include "gatehouse.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{/* What must be given, said before anything is made. */}}
{{- define "gatehouse.validate" -}}
{{- $url := required "publicUrl is required: the address clients reach Gatehouse at, e.g. https://mcp.example.com" .Values.publicUrl -}}
{{- if not (regexMatch "^https?://[^/]+$" (trimSuffix "/" $url)) -}}
{{- fail (printf "publicUrl must be http(s)://host[:port] without a path, got %q" $url) -}}
{{- end -}}
{{- if not .Values.secret.existingSecret -}}
{{- $db := required "give secret.existingSecret, or secret.create.databaseUrl (postgres://…) and secret.create.masterKey" .Values.secret.create.databaseUrl -}}
{{- if not (hasPrefix "postgres" $db) -}}
{{- fail "secret.create.databaseUrl must be a postgres:// URL: SQLite is one process and cannot be shared by several nodes" -}}
{{- end -}}
{{- $key := required "secret.create.masterKey is required: base64 of 32 random bytes (openssl rand -base64 32)" .Values.secret.create.masterKey -}}
{{- if ne (len (b64dec $key)) 32 -}}
{{- fail "secret.create.masterKey must be base64 of exactly 32 bytes (openssl rand -base64 32)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
