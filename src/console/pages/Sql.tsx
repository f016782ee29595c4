import { Redacted } from "effect"
import { useState } from "preact/hooks"
import { api } from "../api.ts"
import { currentProject } from "../session.ts"
import { ErrorBox, Field, NeedProject, Section, useAction, useLoad, useStore } from "../ui.tsx"

const AddConnection = ({ projectId, onAdded }: { projectId: string; onAdded: (id: string) => void }) => {
  const [name, setName] = useState("")
  const [connectionString, setConnectionString] = useState("")
  const action = useAction()
  const submit = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      const c = await api((client) =>
        client.sqlTool.createConnection({ payload: { projectId, name, connectionString: Redacted.make(connectionString), writable: false, verify: true } })
      )
      setName("")
      setConnectionString("")
      onAdded(c.id)
    })
  }
  return (
    <form onSubmit={submit} aria-label="Add a connection">
      <Field label="Name">{(id) => <input id={id} name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
      <Field label="Connection string" hint="postgres://, mysql://, sqlite:/path or mssql://; stored encrypted, never shown again">
        {(id) => <input id={id} name="connectionString" type="password" autoComplete="off" required value={connectionString} onInput={(e) => setConnectionString(e.currentTarget.value)} />}
      </Field>
      <ErrorBox error={action.error} />
      <button type="submit" disabled={action.busy}>Add connection</button>
    </form>
  )
}

const SchemaBrowser = ({ connectionId, onPick }: { connectionId: string; onPick: (table: string) => void }) => {
  const schema = useLoad(() => api((c) => c.sqlTool.schema({ path: { connectionId }, urlParams: {} })), [connectionId])
  return (
    <div aria-label="Schema">
      <ErrorBox error={schema.error} />
      {schema.loading && <p class="muted">Reading the schema…</p>}
      <ul class="list">
        {(schema.data?.tables ?? []).map((t) => (
          <li data-table={t.name}>
            <details>
              <summary>{t.schema ? `${t.schema}.` : ""}{t.name} <span class="muted">{t.kind}</span></summary>
              <ul>
                {t.columns.map((c) => <li><code>{c.name}</code> <span class="muted">{c.type}{c.primaryKey ? " · primary key" : ""}{c.nullable ? "" : " · not null"}</span></li>)}
              </ul>
              <button type="button" class="link" onClick={() => onPick(t.schema ? `${t.schema}.${t.name}` : t.name)}>Query this table</button>
            </details>
          </li>
        ))}
      </ul>
    </div>
  )
}

type Result =
  | { kind: "rows"; columns: ReadonlyArray<string>; rows: ReadonlyArray<Record<string, unknown>>; rowCount: number; truncated: boolean; elapsedMs: number }
  | { kind: "plan"; plan: unknown; hints: ReadonlyArray<{ message: string }> }

const QueryPanel = ({ connectionId, sql, setSql }: { connectionId: string; sql: string; setSql: (s: string) => void }) => {
  const [result, setResult] = useState<Result | undefined>()
  const action = useAction()
  const run = (explain: boolean) =>
    action.run(async () => {
      if (explain) {
        const r = await api((c) => c.sqlTool.explain({ payload: { connectionId, sql, params: [], analyze: false } }))
        setResult({ kind: "plan", plan: r.plan, hints: r.hints })
      } else {
        const r = await api((c) => c.sqlTool.execute({ payload: { connectionId, sql, params: [], mode: "read", maxRows: 200 } }))
        setResult({ kind: "rows", ...r })
      }
    })
  const cell = (v: unknown) => (v === null ? "NULL" : typeof v === "object" ? JSON.stringify(v) : String(v))
  return (
    <form onSubmit={(e) => {
      e.preventDefault()
      run(false)
    }} aria-label="Read-only query">
      <Field label="SQL (read-only)">{(id) => <textarea id={id} name="sql" class="code" rows={4} value={sql} onInput={(e) => setSql(e.currentTarget.value)} />}</Field>
      <button type="submit" disabled={action.busy || !sql.trim()}>Run</button>
      <button type="button" onClick={() => run(true)} disabled={action.busy || !sql.trim()}>Explain</button>
      <ErrorBox error={action.error} />
      {result?.kind === "rows" && (
        <div class="scroll" aria-label="Query result">
          <p class="muted">{result.rowCount} rows{result.truncated ? " (truncated)" : ""} in {Math.round(result.elapsedMs)} ms</p>
          <table>
            <thead><tr>{result.columns.map((c) => <th>{c}</th>)}</tr></thead>
            <tbody>{result.rows.map((row) => <tr>{result.columns.map((c) => <td>{cell(row[c])}</td>)}</tr>)}</tbody>
          </table>
        </div>
      )}
      {result?.kind === "plan" && (
        <div aria-label="Plan">
          {result.hints.map((h) => <p class="note">{h.message}</p>)}
          <pre>{typeof result.plan === "string" ? result.plan : JSON.stringify(result.plan, null, 2)}</pre>
        </div>
      )}
    </form>
  )
}

export const SqlPage = ({ params }: { params: ReadonlyArray<string> }) => {
  const projectId = useStore(currentProject)
  const connections = useLoad(() => (projectId ? api((c) => c.sqlTool.listConnections({ urlParams: { projectId } })) : Promise.resolve([])), [projectId])
  const [sql, setSql] = useState("")
  const selected = params[0]
  if (!projectId) return <NeedProject />
  return (
    <div class="split">
      <div>
        <Section title="Connections">
          <ErrorBox error={connections.error} />
          <ul class="list">
            {(connections.data ?? []).map((c) => (
              <li><a href={`#/sql/${c.id}`} aria-current={c.id === selected ? "true" : undefined}>{c.name}</a> <span class="muted">{c.dialect} · {c.target}</span></li>
            ))}
          </ul>
        </Section>
        <Section title="New connection">
          <AddConnection projectId={projectId} onAdded={(id) => {
            connections.reload()
            location.hash = `#/sql/${id}`
          }} />
        </Section>
      </div>
      {selected ? (
        <div>
          <Section title="Schema"><SchemaBrowser connectionId={selected} onPick={(t) => setSql(`SELECT * FROM ${t} LIMIT 50`)} /></Section>
          <Section title="Query"><QueryPanel connectionId={selected} sql={sql} setSql={setSql} /></Section>
        </div>
      ) : <p class="muted">Choose or add a connection.</p>}
    </div>
  )
}
