import { useState } from "preact/hooks"
import { api } from "../api.ts"
import { currentProject } from "../session.ts"
import { ErrorBox, Field, NeedProject, Section, Status, useLoad, useStore, when } from "../ui.tsx"

interface Span {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | null
  readonly service: string
  readonly operation: string
  readonly status: string
  readonly startTime: Date
  readonly durationMs: number
  readonly attributes: Record<string, unknown>
}

/** Spans in tree order (parents before children) with their depth, for the waterfall's rows. */
const treeOrder = (spans: ReadonlyArray<Span>): ReadonlyArray<{ span: Span; depth: number }> => {
  const ids = new Set(spans.map((s) => s.spanId))
  const children = new Map<string | null, Array<Span>>()
  for (const s of spans) {
    const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : null
    children.set(parent, [...(children.get(parent) ?? []), s])
  }
  const out: Array<{ span: Span; depth: number }> = []
  const visit = (parent: string | null, depth: number) => {
    for (const s of (children.get(parent) ?? []).sort((a, b) => +a.startTime - +b.startTime)) {
      out.push({ span: s, depth })
      visit(s.spanId, depth + 1)
    }
  }
  visit(null, 0)
  return out
}

const Waterfall = ({ traceId }: { traceId: string }) => {
  const trace = useLoad(() => api((c) => c.observability.getTrace({ path: { traceId } })), [traceId])
  const [open, setOpen] = useState<string | undefined>()
  if (!trace.data) return <ErrorBox error={trace.error} />
  const rows = treeOrder(trace.data.spans)
  const start = Math.min(...rows.map((r) => +r.span.startTime))
  const end = Math.max(...rows.map((r) => +r.span.startTime + r.span.durationMs))
  const total = Math.max(end - start, 1)
  return (
    <div class="waterfall" aria-label="Waterfall">
      <p class="muted">Trace <code>{traceId}</code> · {rows.length} spans · {total.toFixed(1)} ms</p>
      {rows.map(({ span, depth }) => (
        <div class="wf-row" data-span={span.operation}>
          <button type="button" class="wf-label link" style={{ paddingLeft: `${depth * 0.8}rem` }} onClick={() => setOpen(open === span.spanId ? undefined : span.spanId)} aria-expanded={open === span.spanId}>
            {span.operation}
          </button>
          <div class="wf-track">
            <div
              class={`wf-bar ${span.status === "error" ? "wf-error" : ""}`}
              style={{ left: `${((+span.startTime - start) / total) * 100}%`, width: `${Math.max((span.durationMs / total) * 100, 0.5)}%` }}
              title={`${span.service} ${span.operation}: ${span.durationMs.toFixed(2)} ms`}
            />
          </div>
          <span class="wf-ms">{span.durationMs.toFixed(1)} ms</span>
          {open === span.spanId && <pre class="wf-attrs">{JSON.stringify({ service: span.service, status: span.status, ...span.attributes }, null, 2)}</pre>}
        </div>
      ))}
    </div>
  )
}

export const TracesPage = ({ params }: { params: ReadonlyArray<string> }) => {
  const projectId = useStore(currentProject)
  const [status, setStatus] = useState<"" | "ok" | "error">("")
  const spans = useLoad(
    () => (projectId ? api((c) => c.observability.listTraces({ urlParams: { projectId, status: status || undefined, limit: 500 } })) : Promise.resolve({ spans: [], count: 0 })),
    [projectId, status]
  )
  const selected = params[0]
  if (!projectId) return <NeedProject />
  // The list endpoint returns spans: one row per trace, named by its root (or earliest) span.
  const traces = new Map<string, Span>()
  for (const s of spans.data?.spans ?? []) {
    const seen = traces.get(s.traceId)
    if (!seen || (s.parentSpanId === null && seen.parentSpanId !== null) || (+s.startTime < +seen.startTime && seen.parentSpanId !== null)) traces.set(s.traceId, s)
  }
  const list = [...traces.values()].sort((a, b) => +b.startTime - +a.startTime)
  return (
    <div>
      <Section title="Traces" actions={<button type="button" onClick={spans.reload}>Refresh</button>}>
        <Field label="Status">
          {(id) => (
            <select id={id} value={status} onChange={(e) => setStatus(e.currentTarget.value as typeof status)}>
              <option value="">any</option>
              <option value="ok">ok</option>
              <option value="error">error</option>
            </select>
          )}
        </Field>
        <ErrorBox error={spans.error} />
        <div class="scroll">
          <table aria-label="Trace list">
            <thead><tr><th>Operation</th><th>Service</th><th>Status</th><th>Duration</th><th>Started</th></tr></thead>
            <tbody>
              {list.map((s) => (
                <tr data-trace={s.traceId}>
                  <td><a href={`#/traces/${s.traceId}`} aria-current={s.traceId === selected ? "true" : undefined}>{s.operation}</a></td>
                  <td>{s.service}</td>
                  <td><Status value={s.status} /></td>
                  <td>{s.durationMs.toFixed(1)} ms</td>
                  <td>{when(s.startTime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {spans.data && list.length === 0 && <p class="muted">No trace stored for this project yet.</p>}
      </Section>
      {selected && <Section title="Waterfall"><Waterfall traceId={selected} /></Section>}
    </div>
  )
}
