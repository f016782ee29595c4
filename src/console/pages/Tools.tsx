import { useState } from "preact/hooks"
import { api } from "../api.ts"
import { currentProject } from "../session.ts"
import { ErrorBox, Field, NeedProject, Section, Status, useAction, useLoad, useStore } from "../ui.tsx"

interface JsonSchema {
  readonly type?: string | ReadonlyArray<string>
  readonly description?: string
  readonly enum?: ReadonlyArray<unknown>
  readonly properties?: Record<string, JsonSchema>
  readonly required?: ReadonlyArray<string>
  readonly default?: unknown
}

const typeOf = (schema: JsonSchema) => (Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type) ?? "string"

/** A form value as the argument the schema asks for; objects and arrays are typed as JSON. */
const coerce = (schema: JsonSchema, raw: string): unknown => {
  switch (typeOf(schema)) {
    case "number":
    case "integer":
      return Number(raw)
    case "boolean":
      return raw === "true"
    case "object":
    case "array":
      return JSON.parse(raw)
    default:
      return raw
  }
}

/** The arguments form of one tool, one labelled control per property of its input JSON Schema. */
const TryTool = ({ projectId, tool }: { projectId: string; tool: { id: string; name: string; inputSchema: Record<string, unknown> } }) => {
  const schema = tool.inputSchema as JsonSchema
  const properties = Object.entries(schema.properties ?? {})
  const [values, setValues] = useState<Record<string, string>>({})
  const [result, setResult] = useState<string | undefined>()
  const action = useAction()
  const submit = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      const args: Record<string, unknown> = {}
      for (const [name, prop] of properties) if (values[name] !== undefined && values[name] !== "") args[name] = coerce(prop, values[name])
      const r = await api((c) => c.tools.executeTool({ path: { id: tool.id }, payload: { projectId, arguments: args } }))
      setResult(JSON.stringify(r.structuredContent ?? r.content, null, 2))
    })
  }
  return (
    <form onSubmit={submit} aria-label={`Try ${tool.name}`}>
      {properties.length === 0 && <p class="muted">This tool takes no arguments.</p>}
      {properties.map(([name, prop]) => {
        const label = `${name}${schema.required?.includes(name) ? " (required)" : ""}`
        const set = (value: string) => setValues({ ...values, [name]: value })
        return (
          <Field label={label} hint={prop.description}>
            {(id) =>
              prop.enum ? (
                <select id={id} value={values[name] ?? ""} onChange={(e) => set(e.currentTarget.value)}>
                  <option value="">—</option>
                  {prop.enum.map((v) => <option value={String(v)}>{String(v)}</option>)}
                </select>
              ) : typeOf(prop) === "boolean" ? (
                <select id={id} value={values[name] ?? ""} onChange={(e) => set(e.currentTarget.value)}>
                  <option value="">—</option>
                  <option value="true">true</option>
                  <option value="false">false</option>
                </select>
              ) : typeOf(prop) === "object" || typeOf(prop) === "array" ? (
                <textarea id={id} class="code" rows={3} placeholder="JSON" value={values[name] ?? ""} onInput={(e) => set(e.currentTarget.value)} />
              ) : typeOf(prop) === "number" || typeOf(prop) === "integer" ? (
                <input id={id} type="number" value={values[name] ?? ""} onInput={(e) => set(e.currentTarget.value)} />
              ) : (
                <input id={id} type="text" value={values[name] ?? ""} onInput={(e) => set(e.currentTarget.value)} />
              )}
          </Field>
        )
      })}
      <ErrorBox error={action.error} />
      <button type="submit" disabled={action.busy}>Call {tool.name}</button>
      {result !== undefined && <pre class="output" aria-label="Tool result">{result}</pre>}
    </form>
  )
}

/**
 * Registers a Streamable HTTP MCP server. With OAuth the server is kept while it waits for its
 * authorization (the Authorize button below); stdio servers come from the operators' catalog.
 */
const RegisterMcpServer = ({ projectId, onDone }: { projectId: string; onDone: () => void }) => {
  const [name, setName] = useState("")
  const [url, setUrl] = useState("")
  const [oauth, setOauth] = useState(false)
  const action = useAction()
  const submit = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      await api((c) => c.tools.registerMcpServer({ payload: { projectId, name, transport: { type: "http", url, headers: {}, ...(oauth ? { oauth: { grant: "authorization_code" } } : {}) } } }))
      setName("")
      setUrl("")
      onDone()
    })
  }
  return (
    <form onSubmit={submit} aria-label="Register an MCP server">
      <Field label="Name">{(id) => <input id={id} name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
      <Field label="URL (Streamable HTTP)">
        {(id) => <input id={id} name="url" type="url" required placeholder="https://mcp.example.com/mcp" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />}
      </Field>
      <label class="check"><input type="checkbox" name="oauth" checked={oauth} onChange={(e) => setOauth(e.currentTarget.checked)} /> Uses OAuth (authorize after registering)</label>
      <ErrorBox error={action.error} />
      <button type="submit" disabled={action.busy}>Register</button>
    </form>
  )
}

/** Starts the server's OAuth authorization: the browser goes to the authorization server, which sends it back to /oauth/mcp/callback. */
const AuthorizeButton = ({ serverId, onDone }: { serverId: string; onDone: () => void }) => {
  const action = useAction()
  const authorize = () =>
    action.run(async () => {
      const r = await api((c) => c.tools.authorizeMcpServer({ path: { serverId } }))
      if (r.status === "pending" && r.authorizationUrl) location.assign(r.authorizationUrl)
      else onDone()
    })
  return (
    <>
      <button type="button" class="small" disabled={action.busy} onClick={authorize}>Authorize</button>
      <ErrorBox error={action.error} />
    </>
  )
}

export const ToolsPage = ({ params }: { params: ReadonlyArray<string> }) => {
  const projectId = useStore(currentProject)
  const tools = useLoad(() => (projectId ? api((c) => c.tools.listTools({ urlParams: { projectId } })) : Promise.resolve({ tools: [] })), [projectId])
  const servers = useLoad(() => (projectId ? api((c) => c.tools.listMcpServers({ urlParams: { projectId } })) : Promise.resolve({ servers: [] })), [projectId])
  const selected = tools.data?.tools.find((t) => t.id === decodeURIComponent(params[0] ?? ""))
  if (!projectId) return <NeedProject />
  return (
    <div class="split">
      <div>
        <Section title="Tools">
          <ErrorBox error={tools.error} />
          <ul class="list">
            {(tools.data?.tools ?? []).map((t) => (
              <li><a href={`#/tools/${encodeURIComponent(t.id)}`} aria-current={t === selected ? "true" : undefined}>{t.name}</a> <span class="muted">{t.source}</span></li>
            ))}
          </ul>
        </Section>
        <Section title="MCP servers">
          <ErrorBox error={servers.error} />
          <ul class="list">
            {(servers.data?.servers ?? []).map((s) => (
              <li data-server={s.name}>
                {s.name} <Status value={s.status} /> {s.lastError && <span class="muted">{s.lastError}</span>}
                {s.transport.type === "http" && s.transport.oauth && <AuthorizeButton serverId={s.id} onDone={() => (servers.reload(), tools.reload())} />}
              </li>
            ))}
          </ul>
          {servers.data?.servers.length === 0 && <p class="muted">No MCP server registered.</p>}
          <RegisterMcpServer projectId={projectId} onDone={() => (servers.reload(), tools.reload())} />
        </Section>
      </div>
      {selected ? (
        <Section title={selected.name}>
          <p>{selected.description}</p>
          <TryTool projectId={projectId} tool={selected} />
        </Section>
      ) : <p class="muted">Choose a tool to try it.</p>}
    </div>
  )
}
