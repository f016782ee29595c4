import type { ComponentChildren } from "preact"
import { useCallback, useEffect, useState } from "preact/hooks"
import { ApiError, toApiError } from "./api.ts"
import type { Store } from "./session.ts"

export const useStore = <A,>(store: Store<A>): A => {
  const [value, setValue] = useState(store.value)
  useEffect(() => store.subscribe(setValue), [store])
  return value
}

export interface Loaded<A> {
  readonly data: A | undefined
  readonly error: ApiError | undefined
  readonly loading: boolean
  readonly reload: () => void
}

/** Loads data when `deps` change; `reload` loads again (after a change the page made). */
export const useLoad = <A,>(load: () => Promise<A>, deps: ReadonlyArray<unknown>): Loaded<A> => {
  const [state, setState] = useState<{ data?: A; error?: ApiError; loading: boolean }>({ loading: true })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    setState((s) => ({ ...s, loading: true }))
    load().then(
      (data) => live && setState({ data, loading: false }),
      (e) => live && setState({ error: toApiError(e), loading: false })
    )
    return () => {
      live = false
    }
  }, [...deps, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { data: state.data, error: state.error, loading: state.loading, reload }
}

/** Runs an action, keeping its busy flag and its error for the form that started it. */
export const useAction = () => {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<ApiError | undefined>()
  const run = async <A,>(action: () => Promise<A>): Promise<A | undefined> => {
    setBusy(true)
    setError(undefined)
    try {
      return await action()
    } catch (e) {
      setError(toApiError(e))
      return undefined
    } finally {
      setBusy(false)
    }
  }
  return { busy, error, run, setError }
}

export const ErrorBox = ({ error }: { error: ApiError | undefined }) =>
  error ? (
    <div class="error" role="alert">
      <strong>{error.tag}</strong>: {error.message}
      {error.issues.length > 0 && (
        <ul>
          {error.issues.map((issue) => (
            <li>
              {issue.path ? <code>{issue.path}</code> : null} {issue.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  ) : null

let nextId = 0
/** A labelled control: the label is tied to the input by id (screen readers and clicks). */
export const Field = (props: { label: string; children: (id: string) => ComponentChildren; hint?: string }) => {
  const [id] = useState(() => `f${++nextId}`)
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children(id)}
      {props.hint ? <small>{props.hint}</small> : null}
    </div>
  )
}

export const Section = (props: { title: string; children: ComponentChildren; actions?: ComponentChildren }) => (
  <section class="card" aria-label={props.title}>
    <header class="card-head">
      <h2>{props.title}</h2>
      {props.actions}
    </header>
    {props.children}
  </section>
)

export const Status = ({ value }: { value: string }) => <span class={`status status-${value}`}>{value}</span>

export const when = (date: Date | string) => new Date(date).toLocaleString()

export const NeedProject = () => <p class="muted">Choose a project in the header first.</p>
