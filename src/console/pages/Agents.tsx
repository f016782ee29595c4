import { useEffect, useState } from "preact/hooks"
import { api } from "../api.ts"
import { currentProject } from "../session.ts"
import { ErrorBox, Field, NeedProject, Section, Status, useAction, useLoad, useStore, when } from "../ui.tsx"
import { Chat } from "./Chat.tsx"

const CreateAgent = ({ projectId, onCreated }: { projectId: string; onCreated: (id: string) => void }) => {
  const templates = useLoad(() => api((c) => c.agents.templates()), [])
  const [templateId, setTemplateId] = useState("assistant")
  const [name, setName] = useState("")
  const action = useAction()
  const submit = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      const agent = await api((c) => c.agents.create({ payload: { projectId, templateId, name: name || undefined } }))
      setName("")
      onCreated(agent.id)
    })
  }
  return (
    <form onSubmit={submit} aria-label="Create an agent">
      <Field label="Template">
        {(id) => (
          <select id={id} name="template" value={templateId} onChange={(e) => setTemplateId(e.currentTarget.value)}>
            {(templates.data ?? []).map((t) => <option value={t.id}>{t.name} — {t.description}</option>)}
          </select>
        )}
      </Field>
      <Field label="Name">{(id) => <input id={id} name="name" placeholder="from the template" value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
      <ErrorBox error={action.error} />
      <button type="submit" disabled={action.busy}>Create agent</button>
    </form>
  )
}

const EditAgent = ({ agentId, onSaved }: { agentId: string; onSaved: () => void }) => {
  const agent = useLoad(() => api((c) => c.agents.get({ path: { id: agentId } })), [agentId])
  const [form, setForm] = useState({ name: "", description: "", systemPrompt: "", tools: "" })
  const action = useAction()
  useEffect(() => {
    const a = agent.data
    if (a) setForm({ name: a.name, description: a.description, systemPrompt: a.systemPrompt, tools: a.tools.join(", ") })
  }, [agent.data])
  const save = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      const tools = form.tools.split(",").map((t) => t.trim()).filter(Boolean)
      await api((c) => c.agents.update({ path: { id: agentId }, payload: { name: form.name, description: form.description, systemPrompt: form.systemPrompt, tools } }))
      onSaved()
    })
  }
  const set = (key: keyof typeof form) => (e: { currentTarget: { value: string } }) => setForm({ ...form, [key]: e.currentTarget.value })
  if (!agent.data) return <ErrorBox error={agent.error} />
  return (
    <form onSubmit={save} aria-label="Edit agent">
      <p class="muted">{agent.data.provider} · {agent.data.model}</p>
      <Field label="Name">{(id) => <input id={id} value={form.name} onInput={set("name")} />}</Field>
      <Field label="Description">{(id) => <input id={id} value={form.description} onInput={set("description")} />}</Field>
      <Field label="System prompt">{(id) => <textarea id={id} rows={4} value={form.systemPrompt} onInput={set("systemPrompt")} />}</Field>
      <Field label="Tools (comma-separated)">{(id) => <input id={id} value={form.tools} onInput={set("tools")} />}</Field>
      <ErrorBox error={action.error} />
      <button type="submit" disabled={action.busy}>Save</button>
    </form>
  )
}

type Part = { kind: "text"; text: string } | { kind: "data"; data: unknown } | { kind: string }
const partText = (part: Part) => ("text" in part ? part.text : "data" in part ? JSON.stringify(part.data) : `[${part.kind}]`)

/** One A2A task as stored: its state, the conversation it holds and its artifacts. */
const TaskDetail = ({ agentId, taskId }: { agentId: string; taskId: string }) => {
  const task = useLoad(() => api((c) => c.agents.task({ path: { id: agentId, taskId } })), [agentId, taskId])
  if (!task.data) return <ErrorBox error={task.error} />
  return (
    <div class="task" aria-label="Task">
      <p>Task <code>{task.data.id}</code> <Status value={task.data.state} /> <span class="muted">context {task.data.contextId}</span></p>
      <ol class="list">
        {task.data.history.map((m) => (
          <li data-role={m.role}><strong>{m.role}</strong>: {m.parts.map(partText).join(" ")}</li>
        ))}
      </ol>
      {task.data.artifacts.length > 0 && <p class="muted">{task.data.artifacts.length} artifact(s)</p>}
    </div>
  )
}

const Runs = ({ agentId, version }: { agentId: string; version: number }) => {
  const runs = useLoad(() => api((c) => c.agents.runs({ path: { id: agentId } })), [agentId, version])
  const [open, setOpen] = useState<string | undefined>()
  return (
    <div class="scroll">
      <ErrorBox error={runs.error} />
      <table aria-label="Task history">
        <thead><tr><th>Started</th><th>Status</th><th>Model</th><th>Steps</th><th>Tokens in/out</th><th>Time</th></tr></thead>
        <tbody>
          {(runs.data ?? []).map((r) => (
            <tr>
              <td><button type="button" class="link" aria-expanded={open === r.taskId} onClick={() => setOpen(open === r.taskId ? undefined : r.taskId)}>{when(r.startedAt)}</button></td>
              <td><Status value={r.status} />{r.error ? ` ${r.error}` : ""}</td>
              <td>{r.provider}/{r.model}</td>
              <td>{r.steps}</td>
              <td>{r.inputTokens}/{r.outputTokens}</td>
              <td>{Math.round(r.durationMs)} ms</td>
            </tr>
          ))}
        </tbody>
      </table>
      {runs.data?.length === 0 && <p class="muted">No task yet.</p>}
      {open && <TaskDetail agentId={agentId} taskId={open} />}
    </div>
  )
}

export const AgentsPage = ({ params }: { params: ReadonlyArray<string> }) => {
  const projectId = useStore(currentProject)
  const agents = useLoad(() => (projectId ? api((c) => c.agents.list({ urlParams: { projectId } })) : Promise.resolve([])), [projectId])
  const [version, setVersion] = useState(0)
  const selected = params[0]
  if (!projectId) return <NeedProject />
  return (
    <div class="split">
      <div>
        <Section title="Agents">
          <ErrorBox error={agents.error} />
          <ul class="list">
            {(agents.data ?? []).map((a) => (
              <li><a href={`#/agents/${a.id}`} aria-current={a.id === selected ? "true" : undefined}>{a.name}</a> <span class="muted">{a.model}</span></li>
            ))}
          </ul>
          {agents.data?.length === 0 && <p class="muted">No agent yet: create one from a template.</p>}
        </Section>
        <Section title="New agent">
          <CreateAgent projectId={projectId} onCreated={(id) => {
            agents.reload()
            location.hash = `#/agents/${id}`
          }} />
        </Section>
      </div>
      {selected ? (
        <div>
          <Section title="Chat"><Chat agentId={selected} onDone={() => setVersion((v) => v + 1)} /></Section>
          <Section title="Task history"><Runs agentId={selected} version={version} /></Section>
          <Section title="Settings"><EditAgent agentId={selected} onSaved={agents.reload} /></Section>
        </div>
      ) : <p class="muted">Choose an agent to chat with it.</p>}
    </div>
  )
}
