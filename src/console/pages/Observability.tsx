import { useState } from "preact/hooks"
import { api } from "../api.ts"
import { currentProject } from "../session.ts"
import { ErrorBox, Field, NeedProject, Section, Status, useAction, useLoad, useStore, when } from "../ui.tsx"

type Graph = Awaited<ReturnType<typeof loadGraph>>
const loadGraph = (projectId: string) => api((c) => c.observability.a2aFlows({ urlParams: { projectId } }))

/** Agents on a circle, one arrow per caller → callee pair, labelled with its count and p95. */
const FlowGraph = ({ graph }: { graph: Graph }) => {
  const size = 360
  const r = size / 2 - 60
  const at = new Map(graph.nodes.map((n, i) => {
    const angle = (2 * Math.PI * i) / Math.max(graph.nodes.length, 1) - Math.PI / 2
    return [n.id, { x: size / 2 + r * Math.cos(angle), y: size / 2 + r * Math.sin(angle) }] as const
  }))
  return (
    <svg viewBox={`0 0 ${size} ${size}`} class="graph" role="img" aria-label={`A2A flows: ${graph.edges.length} links between ${graph.nodes.length} agents`}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="#5f6878" />
        </marker>
      </defs>
      {graph.edges.map((e) => {
        const a = at.get(e.from)!
        const b = at.get(e.to)!
        const len = Math.hypot(b.x - a.x, b.y - a.y) || 1
        // Stop the arrow at the node's edge, not its centre.
        const end = { x: b.x - ((b.x - a.x) / len) * 18, y: b.y - ((b.y - a.y) / len) * 18 }
        return (
          <g data-edge={`${e.from}->${e.to}`}>
            <line x1={a.x} y1={a.y} x2={end.x} y2={end.y} stroke={e.errorCount > 0 ? "#b42318" : "#5f6878"} stroke-width={1 + Math.min(e.count, 20) / 5} marker-end="url(#arrow)" />
            <text x={(a.x + b.x) / 2} y={(a.y + b.y) / 2 - 4} font-size="10" text-anchor="middle">{e.count}× p95 {Math.round(e.p95Ms)} ms</text>
          </g>
        )
      })}
      {graph.nodes.map((n) => {
        const p = at.get(n.id)!
        return (
          <g data-node={n.id}>
            <circle cx={p.x} cy={p.y} r="16" fill={n.errors > 0 ? "#fde2df" : "#eaf0fd"} stroke="#2754c5" />
            <text x={p.x} y={p.y + 30} font-size="11" text-anchor="middle">{n.id.length > 22 ? `${n.id.slice(0, 21)}…` : n.id}</text>
          </g>
        )
      })}
    </svg>
  )
}

/** Prometheus text → { family → [{ labels, value }] } (samples only; comments skipped). */
const parseMetrics = (text: string) => {
  const families = new Map<string, Array<{ labels: string; value: number }>>()
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (!m) continue
    const value = Number(m[3])
    if (!Number.isFinite(value)) continue
    families.set(m[1], [...(families.get(m[1]) ?? []), { labels: m[2] ?? "", value }])
  }
  return families
}

const Metrics = () => {
  const metrics = useLoad(() => api((c) => c.observability.metrics()), [])
  const families = parseMetrics(metrics.data ?? "")
  const names = [...families.keys()].sort()
  const [chosen, setChosen] = useState("")
  const name = chosen || names.find((n) => n.startsWith("http_server_requests")) || names[0]
  const series = (families.get(name) ?? []).slice().sort((a, b) => b.value - a.value).slice(0, 15)
  const max = Math.max(...series.map((s) => s.value), 1)
  return (
    <div>
      <ErrorBox error={metrics.error} />
      <div class="row">
        <Field label="Metric">
          {(id) => (
            <select id={id} value={name} onChange={(e) => setChosen(e.currentTarget.value)}>
              {names.map((n) => <option value={n}>{n}</option>)}
            </select>
          )}
        </Field>
        <button type="button" onClick={metrics.reload}>Refresh</button>
      </div>
      <ul class="bars" aria-label={`Series of ${name}`}>
        {series.map((s) => (
          <li>
            <span class="bar-label">{s.labels || "(no labels)"}</span>
            <span class="bar" style={{ width: `${(s.value / max) * 100}%` }} />
            <span class="bar-value">{Number.isInteger(s.value) ? s.value : s.value.toFixed(3)}</span>
          </li>
        ))}
      </ul>
    </div>
  )
}

const Alerts = ({ projectId }: { projectId: string }) => {
  const rules = useLoad(() => api((c) => c.observability.listAlerts({ urlParams: { projectId } })), [projectId])
  const [form, setForm] = useState({ name: "", metric: "http_server_requests_total", comparison: "gt" as const, threshold: "100", windowSeconds: "300", webhookUrl: "" })
  const action = useAction()
  const set = (key: keyof typeof form) => (e: { currentTarget: { value: string } }) => setForm({ ...form, [key]: e.currentTarget.value })
  const create = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      await api((c) => c.observability.createAlert({
        payload: {
          projectId, name: form.name, metric: form.metric, comparison: form.comparison, threshold: Number(form.threshold),
          windowSeconds: Number(form.windowSeconds), webhookUrl: form.webhookUrl, labels: {}, aggregation: "last", enabled: true
        }
      }))
      rules.reload()
    })
  }
  return (
    <div>
      <ErrorBox error={rules.error} />
      <div class="scroll">
        <table aria-label="Alert rules">
          <thead><tr><th>Name</th><th>Condition</th><th>State</th><th>Last value</th><th>Since</th></tr></thead>
          <tbody>
            {(rules.data?.rules ?? []).map((r) => (
              <tr>
                <td>{r.name}</td>
                <td><code>{r.aggregation}({r.metric}) {r.comparison} {r.threshold}</code> over {r.windowSeconds}s</td>
                <td><Status value={r.state} /></td>
                <td>{r.lastValue ?? "—"}</td>
                <td>{r.stateSince ? when(r.stateSince) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form onSubmit={create} aria-label="New alert rule" class="row">
        <Field label="Rule name">{(id) => <input id={id} name="name" required value={form.name} onInput={set("name")} />}</Field>
        <Field label="Metric">{(id) => <input id={id} name="metric" required value={form.metric} onInput={set("metric")} />}</Field>
        <Field label="Comparison">
          {(id) => (
            <select id={id} value={form.comparison} onChange={set("comparison")}>
              {["gt", "gte", "lt", "lte", "eq", "neq"].map((c) => <option value={c}>{c}</option>)}
            </select>
          )}
        </Field>
        <Field label="Threshold">{(id) => <input id={id} type="number" value={form.threshold} onInput={set("threshold")} />}</Field>
        <Field label="Window (seconds)">{(id) => <input id={id} type="number" value={form.windowSeconds} onInput={set("windowSeconds")} />}</Field>
        <Field label="Webhook URL">{(id) => <input id={id} name="webhookUrl" type="url" required value={form.webhookUrl} onInput={set("webhookUrl")} />}</Field>
        <button type="submit" disabled={action.busy}>Create rule</button>
      </form>
      <ErrorBox error={action.error} />
    </div>
  )
}

export const ObservabilityPage = () => {
  const projectId = useStore(currentProject)
  const graph = useLoad(() => (projectId ? loadGraph(projectId) : Promise.resolve(undefined)), [projectId])
  if (!projectId) return <NeedProject />
  return (
    <div>
      <Section title="A2A flows" actions={<button type="button" onClick={graph.reload}>Refresh</button>}>
        <ErrorBox error={graph.error} />
        {graph.data && graph.data.nodes.length === 0 && <p class="muted">No agent-to-agent message in this project yet.</p>}
        {graph.data && graph.data.nodes.length > 0 && <FlowGraph graph={graph.data} />}
      </Section>
      <Section title="Metrics"><Metrics /></Section>
      <Section title="Alert rules"><Alerts projectId={projectId} /></Section>
    </div>
  )
}
