import { useEffect, useState } from "preact/hooks"
import { api, ApiError } from "../api.ts"
import { currentProject } from "../session.ts"
import { ErrorBox, Field, NeedProject, Section, Status, useAction, useLoad, useStore, when } from "../ui.tsx"

const EXAMPLE = JSON.stringify(
  {
    steps: [
      { id: "greet", type: "set", values: { text: "hello {{input.name}}" } },
      { id: "review", type: "approval", message: "send the greeting?" }
    ],
    output: "{{vars.text}}"
  },
  null,
  2
)

const parseJson = (text: string, what: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new ApiError("InvalidJson", `${what} is not valid JSON: ${(e as Error).message}`)
  }
}

/** The definition editor: the server validates the whole definition and lists every problem, shown under the editor. */
const Editor = ({ projectId, workflowId, onSaved }: { projectId: string; workflowId?: string; onSaved: (id: string) => void }) => {
  const existing = useLoad(() => (workflowId ? api((c) => c.workflows.getWorkflow({ path: { id: workflowId } })) : Promise.resolve(undefined)), [workflowId])
  const [name, setName] = useState("")
  const [definition, setDefinition] = useState(EXAMPLE)
  const action = useAction()
  useEffect(() => {
    if (existing.data) {
      setName(existing.data.name)
      setDefinition(JSON.stringify(existing.data.definition, null, 2))
    } else if (!workflowId) {
      setName("")
      setDefinition(EXAMPLE)
    }
  }, [existing.data, workflowId])
  const save = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      const parsed = parseJson(definition, "the definition")
      const saved = workflowId
        ? await api((c) => c.workflows.updateWorkflow({ path: { id: workflowId }, payload: { name, definition: parsed } }))
        : await api((c) => c.workflows.createWorkflow({ payload: { projectId, name, definition: parsed } }))
      onSaved(saved.id)
    })
  }
  return (
    <form onSubmit={save} aria-label="Workflow definition">
      <Field label="Name">{(id) => <input id={id} name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
      <Field label="Definition (JSON: steps, output, schedule)">
        {(id) => <textarea id={id} name="definition" class="code" rows={14} spellcheck={false} value={definition} onInput={(e) => setDefinition(e.currentTarget.value)} aria-invalid={action.error ? "true" : undefined} />}
      </Field>
      <ErrorBox error={action.error} />
      <button type="submit" disabled={action.busy}>{workflowId ? `Save version ${(existing.data?.version ?? 0) + 1}` : "Create workflow"}</button>
    </form>
  )
}

type Run = Awaited<ReturnType<typeof loadRun>>
const loadRun = (runId: string) => api((c) => c.workflows.getRun({ path: { runId } }))
const TERMINAL = ["completed", "failed", "cancelled"]

/** A run as its steps: done when the run recorded the step's result, waiting at an approval the run stopped on. */
const RunView = ({ runId, steps, onStatus }: { runId: string; steps: ReadonlyArray<{ id: string; type: string }>; onStatus: () => void }) => {
  const [run, setRun] = useState<Run | undefined>()
  const action = useAction()
  const [comment, setComment] = useState("")
  const refresh = () => loadRun(runId).then(setRun, () => undefined)
  useEffect(() => {
    setRun(undefined)
    refresh()
  }, [runId])
  useEffect(onStatus, [run?.status])
  // Live status: poll until the run ends.
  useEffect(() => {
    if (run && TERMINAL.includes(run.status)) return
    const timer = setTimeout(refresh, 700)
    return () => clearTimeout(timer)
  }, [run])
  if (!run) return <p class="muted">Loading run…</p>
  // stepResults is keyed by step path; each value names its step and its status (running, waiting, completed, failed).
  const recorded = (stepId: string) =>
    Object.entries(run.stepResults)
      .filter(([key, value]) => !key.startsWith("compensate/") && (value as { stepId?: string } | null)?.stepId === stepId)
      .map(([, value]) => value as { status?: string; message?: string; error?: string })
  const stepState = (step: { id: string }) => {
    const results = recorded(step.id)
    if (results.length > 0) return results[results.length - 1].status ?? "completed"
    return run.status === "failed" || run.status === "cancelled" ? "skipped" : "pending"
  }
  const signal = (approved: boolean) =>
    action.run(async () => {
      await api((c) => c.workflows.signalRun({ path: { runId }, payload: { approved, comment: comment || undefined } }))
      await refresh()
    })
  return (
    <div aria-label="Run" class="run">
      <p>Run <code>{run.id}</code> <Status value={run.status} /> <span class="muted">started {when(run.startedAt)}</span></p>
      <ol class="steps" aria-label="Steps">
        {steps.map((step) => {
          const state = stepState(step)
          const last = recorded(step.id).at(-1)
          return (
            <li class={`step step-${state}`} data-step={step.id} data-state={state}>
              <strong>{step.id}</strong> <span class="muted">{step.type}</span> <Status value={state} />
              {last?.message && <div class="muted">{last.message}</div>}
              {last?.error && <div class="error">{last.error}</div>}
            </li>
          )
        })}
      </ol>
      {run.status === "waiting" && (
        <div class="approve">
          <Field label="Comment">{(id) => <input id={id} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />}</Field>
          <button type="button" onClick={() => signal(true)} disabled={action.busy}>Approve</button>
          <button type="button" class="danger" onClick={() => signal(false)} disabled={action.busy}>Reject</button>
        </div>
      )}
      <ErrorBox error={action.error} />
      {run.error && <p class="error">{run.error}</p>}
      {run.output !== null && run.output !== undefined && <pre class="output" aria-label="Output">{JSON.stringify(run.output, null, 2)}</pre>}
    </div>
  )
}

const Runner = ({ workflowId }: { workflowId: string }) => {
  const workflow = useLoad(() => api((c) => c.workflows.getWorkflow({ path: { id: workflowId } })), [workflowId])
  const [runsVersion, setRunsVersion] = useState(0)
  const runs = useLoad(() => api((c) => c.workflows.listRuns({ path: { id: workflowId }, urlParams: { limit: 20 } })), [workflowId, runsVersion])
  const [input, setInput] = useState(`{ "name": "world" }`)
  const [runId, setRunId] = useState<string | undefined>()
  const action = useAction()
  useEffect(() => setRunId(undefined), [workflowId])
  const execute = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      const run = await api((c) => c.workflows.executeWorkflow({ path: { id: workflowId }, payload: { input: parseJson(input, "the input") as Record<string, unknown> } }))
      setRunId(run.id)
      setRunsVersion((v) => v + 1)
    })
  }
  const definition = workflow.data?.definition as { steps?: ReadonlyArray<{ id: string; type: string }> } | undefined
  return (
    <div>
      <form onSubmit={execute} aria-label="Run the workflow">
        <Field label="Input (JSON)">{(id) => <textarea id={id} name="input" class="code" rows={3} value={input} onInput={(e) => setInput(e.currentTarget.value)} />}</Field>
        <ErrorBox error={action.error} />
        <button type="submit" disabled={action.busy}>Run</button>
      </form>
      {runId && <RunView runId={runId} steps={definition?.steps ?? []} onStatus={runs.reload} />}
      <h3>Recent runs</h3>
      <ul class="list">
        {(runs.data ?? []).map((r) => (
          <li><button type="button" class="link" onClick={() => setRunId(r.id)}>{when(r.startedAt)}</button> <Status value={r.status} /></li>
        ))}
      </ul>
    </div>
  )
}

export const WorkflowsPage = ({ params }: { params: ReadonlyArray<string> }) => {
  const projectId = useStore(currentProject)
  const workflows = useLoad(() => (projectId ? api((c) => c.workflows.listWorkflows({ urlParams: { projectId } })) : Promise.resolve([])), [projectId])
  const selected = params[0] && params[0] !== "new" ? params[0] : undefined
  if (!projectId) return <NeedProject />
  return (
    <div class="split">
      <Section title="Workflows" actions={<a href="#/workflows/new">New workflow</a>}>
        <ErrorBox error={workflows.error} />
        <ul class="list">
          {(workflows.data ?? []).map((w) => (
            <li><a href={`#/workflows/${w.id}`} aria-current={w.id === selected ? "true" : undefined}>{w.name}</a> <span class="muted">v{w.version}</span></li>
          ))}
        </ul>
      </Section>
      <div>
        <Section title={selected ? "Definition" : "New workflow"}>
          <Editor projectId={projectId} workflowId={selected} onSaved={(id) => {
            workflows.reload()
            location.hash = `#/workflows/${id}`
          }} />
        </Section>
        {selected && <Section title="Runs"><Runner workflowId={selected} /></Section>}
      </div>
    </div>
  )
}
