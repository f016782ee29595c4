import { useEffect, useState } from "preact/hooks"
import { api, uploadDocument } from "../api.ts"
import { currentProject } from "../session.ts"
import { ErrorBox, Field, NeedProject, Section, Status, useAction, useLoad, useStore, when } from "../ui.tsx"

const Upload = ({ projectId, onUploaded }: { projectId: string; onUploaded: () => void }) => {
  const [file, setFile] = useState<File | null>(null)
  const [progress, setProgress] = useState<number | null>(null)
  const [note, setNote] = useState("")
  const action = useAction()
  const submit = (e: Event) => {
    e.preventDefault()
    if (!file) return
    setProgress(0)
    action.run(async () => {
      const r = await uploadDocument(projectId, file, setProgress)
      setNote(r.deduplicated ? `${r.document.filename} was already uploaded` : `${r.document.filename} uploaded; ingestion started`)
      onUploaded()
    }).finally(() => setProgress(null))
  }
  return (
    <form onSubmit={submit} aria-label="Upload a document">
      <Field label="Document (PDF, DOCX, TXT, Markdown, HTML)">
        {(id) => <input id={id} name="file" type="file" accept=".pdf,.docx,.txt,.md,.markdown,.html,.htm" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />}
      </Field>
      {progress !== null && <progress max={1} value={progress} aria-label="Upload progress">{Math.round(progress * 100)}%</progress>}
      <ErrorBox error={action.error} />
      {note && <p class="note" role="status">{note}</p>}
      <button type="submit" disabled={!file || action.busy}>Upload</button>
    </form>
  )
}

const Documents = ({ projectId, version }: { projectId: string; version: number }) => {
  const docs = useLoad(() => api((c) => c.rag.listDocuments({ urlParams: { projectId } })), [projectId, version])
  const busy = docs.data?.documents.some((d) => d.status === "pending" || d.status === "processing")
  // Ingestion runs in the background: poll while a document is still on its way.
  useEffect(() => {
    if (!busy) return
    const timer = setTimeout(docs.reload, 1000)
    return () => clearTimeout(timer)
  }, [docs.data])
  return (
    <div class="scroll">
      <ErrorBox error={docs.error} />
      <table aria-label="Documents">
        <thead><tr><th>File</th><th>Status</th><th>Chunks embedded</th><th>Size</th><th>Uploaded</th></tr></thead>
        <tbody>
          {(docs.data?.documents ?? []).map((d) => (
            <tr data-document={d.filename}>
              <td>{d.filename}</td>
              <td><Status value={d.status} />{d.error ? ` ${d.error}` : ""}</td>
              <td>{d.chunksEmbedded}/{d.chunkCount}</td>
              <td>{d.sizeBytes.toLocaleString()} B</td>
              <td>{when(d.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {docs.data?.documents.length === 0 && <p class="muted">No document yet.</p>}
    </div>
  )
}

const Query = ({ projectId }: { projectId: string }) => {
  const [query, setQuery] = useState("")
  const [mode, setMode] = useState<"hybrid" | "vector" | "text">("hybrid")
  const action = useAction()
  const [result, setResult] = useState<Awaited<ReturnType<typeof search>> | undefined>()
  const search = () => api((c) => c.rag.query({ payload: { projectId, query, mode, k: 5 } }))
  const submit = (e: Event) => {
    e.preventDefault()
    action.run(async () => setResult(await search()))
  }
  return (
    <div>
      <form onSubmit={submit} aria-label="Query the knowledge base" class="row">
        <Field label="Question">{(id) => <input id={id} name="query" required value={query} onInput={(e) => setQuery(e.currentTarget.value)} />}</Field>
        <Field label="Mode">
          {(id) => (
            <select id={id} value={mode} onChange={(e) => setMode(e.currentTarget.value as typeof mode)}>
              <option value="hybrid">hybrid</option>
              <option value="vector">vector</option>
              <option value="text">full text</option>
            </select>
          )}
        </Field>
        <button type="submit" disabled={action.busy}>Search</button>
      </form>
      <ErrorBox error={action.error} />
      {result && (
        <div aria-label="Hits">
          <p class="muted">{result.hits.length} hits in {Math.round(result.tookMs)} ms ({result.modelId})</p>
          <ol class="hits">
            {result.hits.map((hit) => (
              <li class="hit">
                <div class="hit-head">
                  <strong>{hit.filename}</strong>
                  {typeof hit.metadata.page === "number" && <span> · page {hit.metadata.page}</span>}
                  <span> · chunk {hit.chunkIndex}</span>
                  <span class="score" title="fused score; similarity is the vector cosine">score {hit.score.toFixed(4)} · similarity {hit.similarity.toFixed(3)}</span>
                </div>
                <p class="hit-text">{hit.content}</p>
              </li>
            ))}
          </ol>
        </div>
      )}
    </div>
  )
}

export const RagPage = () => {
  const projectId = useStore(currentProject)
  const [version, setVersion] = useState(0)
  if (!projectId) return <NeedProject />
  return (
    <div>
      <Section title="Upload"><Upload projectId={projectId} onUploaded={() => setVersion((v) => v + 1)} /></Section>
      <Section title="Documents"><Documents projectId={projectId} version={version} /></Section>
      <Section title="Query"><Query projectId={projectId} /></Section>
    </div>
  )
}
