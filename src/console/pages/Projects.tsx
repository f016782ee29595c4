import { useState } from "preact/hooks"
import { api } from "../api.ts"
import { currentProject } from "../session.ts"
import { ErrorBox, Field, Section, useAction, useLoad, useStore, when } from "../ui.tsx"

type Role = "admin" | "developer" | "viewer"

const Members = ({ projectId }: { projectId: string }) => {
  const members = useLoad(() => api((c) => c.projects.listMembers({ path: { projectId } })), [projectId])
  const [email, setEmail] = useState("")
  const [role, setRole] = useState<Role>("developer")
  const action = useAction()
  const add = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      await api((c) => c.projects.addMember({ path: { projectId }, payload: { email, role } }))
      setEmail("")
      members.reload()
    })
  }
  return (
    <div>
      <ErrorBox error={members.error} />
      <div class="scroll">
        <table aria-label="Members">
          <thead><tr><th>Email</th><th>Name</th><th>Role</th><th>Since</th></tr></thead>
          <tbody>
            {(members.data ?? []).map((m) => <tr><td>{m.email}</td><td>{m.displayName ?? ""}</td><td>{m.role}</td><td>{when(m.createdAt)}</td></tr>)}
          </tbody>
        </table>
      </div>
      <form onSubmit={add} class="row" aria-label="Add a member">
        <Field label="Member email">{(id) => <input id={id} type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />}</Field>
        <Field label="Role">
          {(id) => (
            <select id={id} value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              <option value="admin">admin</option>
              <option value="developer">developer</option>
              <option value="viewer">viewer</option>
            </select>
          )}
        </Field>
        <button type="submit" disabled={action.busy}>Add member</button>
      </form>
      <ErrorBox error={action.error} />
    </div>
  )
}

const keyState = (k: { revokedAt: Date | null; expiresAt: Date | null }) =>
  k.revokedAt ? "revoked" : k.expiresAt && new Date(k.expiresAt).getTime() < Date.now() ? "expired" : "active"

/**
 * The project's API keys for machine clients (admins). A new key is shown once, here, and never
 * again: the platform keeps only its hash. Revoking takes effect on every node at once.
 */
const ApiKeys = ({ projectId }: { projectId: string }) => {
  const keys = useLoad(() => api((c) => c.projects.listApiKeys({ path: { projectId } })), [projectId])
  const [name, setName] = useState("")
  const [role, setRole] = useState<Role>("developer")
  const [days, setDays] = useState("")
  const [created, setCreated] = useState<{ name: string; key: string } | undefined>()
  const action = useAction()
  const create = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      const k = await api((c) =>
        c.projects.createApiKey({ path: { projectId }, payload: { name, role, ...(days ? { expiresInDays: Number(days) } : {}) } })
      )
      setCreated({ name: k.name, key: k.key })
      setName("")
      setDays("")
      keys.reload()
    })
  }
  const revoke = (keyId: string) =>
    action.run(async () => {
      await api((c) => c.projects.revokeApiKey({ path: { projectId, keyId } }))
      keys.reload()
    })
  return (
    <div>
      <ErrorBox error={keys.error} />
      <div class="scroll">
        <table aria-label="API keys">
          <thead><tr><th>Name</th><th>Key</th><th>Role</th><th>Created</th><th>Expires</th><th>Last used</th><th>State</th><th></th></tr></thead>
          <tbody>
            {(keys.data ?? []).map((k) => (
              <tr data-key={k.name}>
                <td>{k.name}</td>
                <td><code>{k.prefix}…</code></td>
                <td>{k.role}</td>
                <td>{when(k.createdAt)}</td>
                <td>{k.expiresAt ? when(k.expiresAt) : "never"}</td>
                <td>{k.lastUsedAt ? when(k.lastUsedAt) : "—"}</td>
                <td>{keyState(k)}</td>
                <td>{keyState(k) === "active" && <button type="button" class="small" disabled={action.busy} onClick={() => revoke(k.id)}>Revoke</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {created && (
        <p role="status">
          Key <strong>{created.name}</strong>, shown only now: <code aria-label="New API key">{created.key}</code>
          <br /><span class="muted">Send it as <code>Authorization: Bearer …</code> or <code>x-api-key</code>.</span>
        </p>
      )}
      <form onSubmit={create} class="row" aria-label="Create an API key">
        <Field label="Key name">{(id) => <input id={id} name="keyName" required value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
        <Field label="Key role">
          {(id) => (
            <select id={id} name="keyRole" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              <option value="viewer">viewer</option>
              <option value="developer">developer</option>
              <option value="admin">admin</option>
            </select>
          )}
        </Field>
        <Field label="Expires in days (empty: never)">
          {(id) => <input id={id} name="keyDays" type="number" min={1} max={3650} value={days} onInput={(e) => setDays(e.currentTarget.value)} />}
        </Field>
        <button type="submit" disabled={action.busy}>Create key</button>
      </form>
      <ErrorBox error={action.error} />
    </div>
  )
}

export const ProjectsPage = () => {
  const projectId = useStore(currentProject)
  const projects = useLoad(() => api((c) => c.projects.listProjects()), [])
  const [name, setName] = useState("")
  const action = useAction()
  const create = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      const p = await api((c) => c.projects.createProject({ payload: { name } }))
      setName("")
      projects.reload()
      currentProject.set(p.id)
    })
  }
  return (
    <div>
      <Section title="Your projects">
        <ErrorBox error={projects.error} />
        <ul class="list">
          {(projects.data ?? []).map((p) => (
            <li>
              <button type="button" class="link" aria-pressed={p.id === projectId} onClick={() => currentProject.set(p.id)}>{p.name}</button>{" "}
              <span class="muted">{p.role}</span>
            </li>
          ))}
        </ul>
        <form onSubmit={create} class="row" aria-label="Create a project">
          <Field label="New project name">{(id) => <input id={id} required value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
          <button type="submit" disabled={action.busy}>Create project</button>
        </form>
        <ErrorBox error={action.error} />
      </Section>
      {projectId && <Section title="Members"><Members projectId={projectId} /></Section>}
      {projectId && <Section title="API keys"><ApiKeys projectId={projectId} /></Section>}
    </div>
  )
}
