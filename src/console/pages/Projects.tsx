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
    </div>
  )
}
