{{/*
Expand the name of the chart.
*/}}
{{- define "sep-shield.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A default fully qualified app name, truncated at 63 characters (DNS names). A release name that already
contains the chart name is used as is.
*/}}
{{- define "sep-shield.fullname" -}}
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

{{- define "sep-shield.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "sep-shield.labels" -}}
helm.sh/chart: {{ include "sep-shield.chart" . }}
{{ include "sep-shield.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sep-shield
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "sep-shield.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sep-shield.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The processor's selector labels (the retraining job's pods carry component=retrain).
*/}}
{{- define "sep-shield.processorSelectorLabels" -}}
{{ include "sep-shield.selectorLabels" . }}
app.kubernetes.io/component: processor
{{- end }}

{{- define "sep-shield.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sep-shield.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sep-shield.configName" -}}
{{- printf "%s-config" (include "sep-shield.fullname" .) }}
{{- end }}

{{- define "sep-shield.bundlesClaim" -}}
{{- default (printf "%s-bundles" (include "sep-shield.fullname" .)) .Values.bundles.persistence.existingClaim }}
{{- end }}

{{/*
The image; GPU installs take the CUDA variant's tag.
*/}}
{{- define "sep-shield.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.gpu.enabled }}{{ $tag = printf "%s%s" $tag .Values.gpu.imageTagSuffix }}{{ end }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}

{{/*
sep-shield.stream.<key> in environment form: SEP_SHIELD_STREAM_<KEY>, "-" and "." as "_".
*/}}
{{- define "sep-shield.streamEnv" -}}
{{- printf "SEP_SHIELD_STREAM_%s" (regexReplaceAll "[^A-Za-z0-9]" . "_" | upper) }}
{{- end }}

{{/*
A Kafka client setting, the quoted map key sep-shield.stream.kafka."<setting>", in environment form:
"__" opens the quotes, "_" closes them.
*/}}
{{- define "sep-shield.kafkaEnv" -}}
{{- printf "SEP_SHIELD_STREAM_KAFKA__%s_" (regexReplaceAll "[^A-Za-z0-9]" . "_" | upper) }}
{{- end }}

{{/*
close-timeout in seconds (accepts Ns, Nm, or an ISO-8601 PTnS/PTnM), for the grace-period check.
*/}}
{{- define "sep-shield.closeTimeoutSeconds" -}}
{{- $v := toString (index .Values.stream "close-timeout" | default "20s") | lower | trimPrefix "pt" }}
{{- if hasSuffix "m" $v }}{{ mul (trimSuffix "m" $v | atoi) 60 }}
{{- else }}{{ trimSuffix "s" $v | atoi }}
{{- end }}
{{- end }}

{{/*
Settings that would break a deployment fail the render with the reason.
*/}}
{{- define "sep-shield.validate" -}}
{{- $close := include "sep-shield.closeTimeoutSeconds" . | atoi }}
{{- if le (int .Values.terminationGracePeriodSeconds) (add $close 10) }}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed stream.close-timeout (%ds) + 10 s: Kubernetes would kill a pod still committing its batch" .Values.terminationGracePeriodSeconds $close) }}
{{- end }}
{{- $partitions := int (index .Values.stream "topic-partitions" | default 1) }}
{{- if and .Values.keda.enabled (gt (int .Values.keda.maxReplicaCount) $partitions) }}
{{- fail (printf "keda.maxReplicaCount (%v) exceeds stream.topic-partitions (%d): replicas without a partition idle" .Values.keda.maxReplicaCount $partitions) }}
{{- end }}
{{- if and (not .Values.keda.enabled) (gt (int .Values.replicaCount) $partitions) }}
{{- fail (printf "replicaCount (%v) exceeds stream.topic-partitions (%d): replicas without a partition idle" .Values.replicaCount $partitions) }}
{{- end }}
{{- end }}

{{/*
Environment shared by the processor and the retraining job: the ConfigMap plus Secret references.
*/}}
{{- define "sep-shield.envFrom" -}}
- configMapRef:
    name: {{ include "sep-shield.configName" . }}
{{- end }}

{{- define "sep-shield.secretEnv" -}}
{{- if .Values.kafka.sasl.secretName }}
- name: {{ include "sep-shield.kafkaEnv" "sasl.jaas.config" }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.secretName }}
      key: {{ .Values.kafka.sasl.jaasConfigKey }}
      optional: true
{{- end }}
{{- if .Values.schemaRegistry.auth.secretName }}
- name: {{ include "sep-shield.streamEnv" "schema-registry-basic-auth-user-info" }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.schemaRegistry.auth.secretName }}
      key: {{ .Values.schemaRegistry.auth.key }}
      optional: true
{{- end }}
{{- end }}

{{- define "sep-shield.tlsVolumeMount" -}}
{{- if .Values.kafka.tls.secretName }}
- name: kafka-tls
  mountPath: {{ .Values.kafka.tls.mountPath }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "sep-shield.tlsVolume" -}}
{{- if .Values.kafka.tls.secretName }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tls.secretName }}
    optional: true
{{- end }}
{{- end }}

{{- define "sep-shield.gpuScheduling" -}}
{{- if .Values.gpu.enabled }}
nodeSelector:
  {{- toYaml (merge (deepCopy .Values.nodeSelector) .Values.gpu.nodeSelector) | nindent 2 }}
tolerations:
  {{- toYaml (concat .Values.tolerations .Values.gpu.tolerations) | nindent 2 }}
{{- else }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Resources, with the GPU count added to the limits in GPU installs. Argument: (list $ cpuResources gpuResources).
*/}}
{{- define "sep-shield.resources" -}}
{{- $root := index . 0 }}
{{- if $root.Values.gpu.enabled }}
{{- $r := deepCopy (index . 2) }}
{{- $limits := default dict $r.limits }}
{{- $_ := set $limits "nvidia.com/gpu" (toString $root.Values.gpu.count) }}
{{- $_ := set $r "limits" $limits }}
{{- toYaml $r }}
{{- else }}
{{- toYaml (index . 1) }}
{{- end }}
{{- end }}
