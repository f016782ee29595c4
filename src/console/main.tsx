import { render } from "preact"
import { useEffect, useState } from "preact/hooks"
import "./console.css"
import { api } from "./api.ts"
import { AgentsPage } from "./pages/Agents.tsx"
import { AuthPage } from "./pages/Auth.tsx"
import { MCP_OAUTH_CALLBACK_PATH, McpOAuthCallbackPage } from "./pages/McpOAuthCallback.tsx"
import { ObservabilityPage } from "./pages/Observability.tsx"
import { ProjectsPage } from "./pages/Projects.tsx"
import { RagPage } from "./pages/Rag.tsx"
import { SqlPage } from "./pages/Sql.tsx"
import { ToolsPage } from "./pages/Tools.tsx"
import { TracesPage } from "./pages/Traces.tsx"
import { WorkflowsPage } from "./pages/Workflows.tsx"
import { currentProject, session } from "./session.ts"
import { useLoad, useStore } from "./ui.tsx"

const PAGES = [
  { path: "agents", title: "Agents", view: AgentsPage },
  { path: "rag", title: "Knowledge (RAG)", view: RagPage },
  { path: "workflows", title: "Workflows", view: WorkflowsPage },
  { path: "tools", title: "Tools", view: ToolsPage },
  { path: "sql", title: "SQL", view: SqlPage },
  { path: "traces", title: "Traces", view: TracesPage },
  { path: "observability", title: "Flows, metrics, alerts", view: ObservabilityPage },
  { path: "projects", title: "Projects", view: ProjectsPage }
] as const

/** Hash routing: the server serves one shell at `/`, so deep links need no server routes. */
const useRoute = () => {
  const read = () => location.hash.replace(/^#\/?/, "").split("/")
  const [route, setRoute] = useState(read)
  useEffect(() => {
    const onChange = () => setRoute(read())
    addEventListener("hashchange", onChange)
    return () => removeEventListener("hashchange", onChange)
  }, [])
  return route
}

const ProjectPicker = () => {
  const project = useStore(currentProject)
  const me = useLoad(() => api((c) => c.auth.me()), [])
  // Loaded again when the current project changes: a project created on the Projects page joins the list.
  const projects = useLoad(() => api((c) => c.projects.listProjects()), [project])
  useEffect(() => {
    const first = projects.data?.[0]
    if (first && !projects.data!.some((p) => p.id === project)) currentProject.set(first.id)
  }, [projects.data])
  return (
    <div class="picker">
      <label for="project-picker">Project</label>
      <select id="project-picker" value={project ?? ""} onChange={(e) => currentProject.set(e.currentTarget.value)}>
        {(projects.data ?? []).map((p) => (
          <option value={p.id}>{p.name}</option>
        ))}
      </select>
      <span class="muted who">{me.data?.email}</span>
    </div>
  )
}

const signOut = async () => {
  await api((c) => c.auth.logout()).catch(() => undefined)
  session.set(null)
  currentProject.set(null)
}

const App = () => {
  const signedIn = useStore(session)
  const [page, ...rest] = useRoute()
  if (!signedIn) return <AuthPage />
  // The OAuth redirect of an MCP server lands on a real path (authorization servers drop fragments).
  const callback = location.pathname === MCP_OAUTH_CALLBACK_PATH
  const active = PAGES.find((p) => p.path === page) ?? PAGES[0]
  const View = callback ? McpOAuthCallbackPage : active.view
  return (
    <div class="layout">
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <strong class="brand">Agent Platform</strong>
        <ProjectPicker />
        <button type="button" class="link" onClick={signOut}>Sign out</button>
      </header>
      <nav aria-label="Sections">
        <ul>
          {PAGES.map((p) => (
            <li>
              <a href={`/#/${p.path}`} aria-current={p === active && !callback ? "page" : undefined}>{p.title}</a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <h1>{callback ? "Tools" : active.title}</h1>
        <View params={rest} />
      </main>
    </div>
  )
}

const root = document.getElementById("app")!
// The shell's "Loading" text is not Preact's: clear it, or render would keep it beside the app.
root.textContent = ""
render(<App />, root)
