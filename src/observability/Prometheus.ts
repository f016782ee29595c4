import { MetricKeyType, MetricState } from "effect"
import type { MetricPair } from "effect"

/**
 * Prometheus text exposition (format 0.0.4) rendered from Effect metric
 * snapshots plus samples computed at scrape time (process, cluster storage).
 */
export interface Sample {
  /** Full sample name (a histogram's `_bucket` / `_sum` / `_count` included). */
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Family {
  readonly name: string
  readonly type: "counter" | "gauge" | "histogram" | "summary" | "untyped"
  readonly help: string
  readonly samples: ReadonlyArray<Sample>
}

export const metricName = (name: string) => {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[a-zA-Z_:]/.test(cleaned) ? cleaned : `_${cleaned}`
}

const labelName = (name: string) => {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[a-zA-Z_]/.test(cleaned) && !cleaned.startsWith("__") ? cleaned : `l_${cleaned}`
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const formatValue = (v: number) =>
  Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v)

const num = (v: number | bigint) => (typeof v === "bigint" ? Number(v) : v)

/** Effect metric snapshot → families, one per metric name (labels from the metric's tags). */
export const familiesFromEffect = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): Array<Family> => {
  const byName = new Map<string, { type: Family["type"]; help: string; samples: Array<Sample> }>()
  for (const { metricKey, metricState } of pairs) {
    const name = metricName(metricKey.name)
    const labels: Record<string, string> = {}
    for (const tag of metricKey.tags) labels[labelName(tag.key)] = tag.value
    const type: Family["type"] = MetricKeyType.isCounterKey(metricKey.keyType)
      ? "counter"
      : MetricKeyType.isHistogramKey(metricKey.keyType)
      ? "histogram"
      : MetricKeyType.isSummaryKey(metricKey.keyType)
      ? "summary"
      : "gauge"
    const family = byName.get(name) ?? { type, help: metricKey.description._tag === "Some" ? metricKey.description.value : "", samples: [] }
    // One name, two kinds of metric: the first registered wins (the exposition allows one TYPE).
    if (family.type !== type) continue
    byName.set(name, family)
    const push = (sampleName: string, extra: Record<string, string>, value: number) =>
      family.samples.push({ name: sampleName, labels: { ...labels, ...extra }, value })
    if (MetricState.isCounterState(metricState)) push(name, {}, num(metricState.count))
    else if (MetricState.isGaugeState(metricState)) push(name, {}, num(metricState.value))
    else if (MetricState.isHistogramState(metricState)) {
      let sawInf = false
      for (const [boundary, cumulative] of metricState.buckets) {
        if (boundary === Infinity) sawInf = true
        push(`${name}_bucket`, { le: formatValue(boundary) }, cumulative)
      }
      if (!sawInf) push(`${name}_bucket`, { le: "+Inf" }, metricState.count)
      push(`${name}_sum`, {}, metricState.sum)
      push(`${name}_count`, {}, metricState.count)
    } else if (MetricState.isSummaryState(metricState)) {
      for (const [q, value] of metricState.quantiles) {
        if (value._tag === "Some") push(name, { quantile: String(q) }, value.value)
      }
      push(`${name}_sum`, {}, metricState.sum)
      push(`${name}_count`, {}, metricState.count)
    } else if (MetricState.isFrequencyState(metricState)) {
      for (const [key, count] of metricState.occurrences) push(name, { key }, count)
    }
  }
  return [...byName].map(([name, f]) => ({ name, ...f }))
}

const renderLabels = (labels: Readonly<Record<string, string>>) => {
  const entries = Object.entries(labels)
  if (entries.length === 0) return ""
  return `{${entries.map(([k, v]) => `${labelName(k)}="${escapeLabel(v)}"`).join(",")}}`
}

export const render = (families: ReadonlyArray<Family>): string => {
  const lines: Array<string> = []
  const seen = new Set<string>()
  for (const family of families) {
    if (seen.has(family.name) || family.samples.length === 0) continue
    seen.add(family.name)
    if (family.help) lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
    lines.push(`# TYPE ${family.name} ${family.type}`)
    for (const s of family.samples) lines.push(`${metricName(s.name)}${renderLabels(s.labels)} ${formatValue(s.value)}`)
  }
  return lines.join("\n") + "\n"
}

/** Process CPU and memory, read at scrape time (the conventional `process_*` names). */
export const processFamilies = (startedAtMs: number): Array<Family> => {
  const cpu = process.cpuUsage()
  const memory = process.memoryUsage()
  const gauge = (name: string, help: string, value: number): Family => ({
    name,
    type: "gauge",
    help,
    samples: [{ name, labels: {}, value }]
  })
  return [
    {
      name: "process_cpu_seconds_total",
      type: "counter",
      help: "User and system CPU time spent in seconds",
      samples: [{ name: "process_cpu_seconds_total", labels: {}, value: (cpu.user + cpu.system) / 1e6 }]
    },
    {
      name: "process_cpu_user_seconds_total",
      type: "counter",
      help: "User CPU time spent in seconds",
      samples: [{ name: "process_cpu_user_seconds_total", labels: {}, value: cpu.user / 1e6 }]
    },
    {
      name: "process_cpu_system_seconds_total",
      type: "counter",
      help: "System CPU time spent in seconds",
      samples: [{ name: "process_cpu_system_seconds_total", labels: {}, value: cpu.system / 1e6 }]
    },
    gauge("process_resident_memory_bytes", "Resident memory size in bytes", memory.rss),
    gauge("process_heap_used_bytes", "JS heap used in bytes", memory.heapUsed),
    gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds", startedAtMs / 1000)
  ]
}

/** Flattened samples of families, for alert evaluation (`name{labels}` → value). */
export const allSamples = (families: ReadonlyArray<Family>): Array<Sample> => families.flatMap((f) => f.samples)
