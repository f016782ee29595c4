import { Option, Stream } from "effect"
import type { V03Message, V1Message } from "../../rpc/A2aRpcs.ts"
import {
  type A2aMessage,
  type A2aTask,
  type Artifact,
  isTaskState,
  type Part,
  TASK_STATES,
  type TaskProgress,
  type TaskState,
  type TaskStatus
} from "../domain/Task.ts"

/** Renders the neutral model as A2A v1.0 proto-JSON or v0.3 JSON, and parses incoming messages. */
export type Version = "1.0" | "0.3"

// v1.0 spells states as proto enum names: "input-required" <-> TASK_STATE_INPUT_REQUIRED.
const V1_STATES = Object.fromEntries(TASK_STATES.map((s) => [s, `TASK_STATE_${s.replace("-", "_").toUpperCase()}`])) as Record<TaskState, string>
const FROM_V1_STATES: ReadonlyMap<string, TaskState> = new Map(TASK_STATES.map((s) => [V1_STATES[s], s]))
const v1State = (s: TaskState) => V1_STATES[s]

/** Either spelling of a state; `TASK_STATE_UNSPECIFIED` / "" (what clients send for "any") → no filter. */
export const parseStateFilter = (s: string): TaskState | undefined => FROM_V1_STATES.get(s) ?? (isTaskState(s) ? s : undefined)

const v1Part = (p: Part) => {
  const meta = p.metadata ? { metadata: p.metadata } : {}
  switch (p.kind) {
    case "text":
      return { text: p.text, ...meta }
    case "data":
      return { data: p.data, ...meta }
    case "file":
      return {
        ...(p.url !== undefined ? { url: p.url } : { raw: p.bytes ?? "" }),
        ...(p.mediaType ? { mediaType: p.mediaType } : {}),
        ...(p.filename ? { filename: p.filename } : {}),
        ...meta
      }
  }
}
const v03Part = (p: Part) => {
  const meta = p.metadata ? { metadata: p.metadata } : {}
  switch (p.kind) {
    case "text":
      return { kind: "text", text: p.text, ...meta }
    case "data":
      return { kind: "data", data: p.data, ...meta }
    case "file":
      return {
        kind: "file",
        file: {
          ...(p.url !== undefined ? { uri: p.url } : { bytes: p.bytes ?? "" }),
          ...(p.mediaType ? { mimeType: p.mediaType } : {}),
          ...(p.filename ? { name: p.filename } : {})
        },
        ...meta
      }
  }
}

const messageCommon = (m: A2aMessage) => ({
  messageId: m.messageId,
  ...(m.contextId ? { contextId: m.contextId } : {}),
  ...(m.taskId ? { taskId: m.taskId } : {}),
  ...(m.metadata ? { metadata: m.metadata } : {}),
  ...(m.referenceTaskIds && m.referenceTaskIds.length > 0 ? { referenceTaskIds: m.referenceTaskIds } : {})
})

export const renderMessage = (v: Version, m: A2aMessage) =>
  v === "1.0"
    ? { ...messageCommon(m), role: m.role === "user" ? "ROLE_USER" : "ROLE_AGENT", parts: m.parts.map(v1Part) }
    : { kind: "message", ...messageCommon(m), role: m.role, parts: m.parts.map(v03Part) }

const renderStatus = (v: Version, s: TaskStatus) => ({
  state: v === "1.0" ? v1State(s.state) : s.state,
  ...(s.message ? { message: renderMessage(v, s.message) } : {}),
  timestamp: s.timestamp
})

const renderArtifact = (v: Version, a: Artifact) => ({
  artifactId: a.artifactId,
  ...(a.name ? { name: a.name } : {}),
  ...(a.description ? { description: a.description } : {}),
  parts: a.parts.map((p): unknown => (v === "1.0" ? v1Part(p) : v03Part(p))),
  ...(a.metadata ? { metadata: a.metadata } : {})
})

export const renderTask = (v: Version, t: A2aTask, historyLength?: number) => {
  const history = historyLength === undefined ? t.history : historyLength <= 0 ? [] : t.history.slice(-historyLength)
  return {
    ...(v === "0.3" ? { kind: "task" } : {}),
    id: t.id,
    contextId: t.contextId,
    status: renderStatus(v, t.status),
    ...(t.artifacts.length > 0 ? { artifacts: t.artifacts.map((a) => renderArtifact(v, a)) } : {}),
    ...(history.length > 0 ? { history: history.map((m) => renderMessage(v, m)) } : {}),
    ...(t.metadata ? { metadata: t.metadata } : {})
  }
}

/** One streamed event: v1.0 wraps it in a oneof (`{ task }`, `{ statusUpdate }`...), v0.3 tags it with `kind`. */
const renderEvent = (v: Version, e: A2aEvent): unknown => {
  switch (e._tag) {
    case "Snapshot":
      return v === "1.0" ? { task: renderTask(v, e.task) } : renderTask(v, e.task)
    case "Status": {
      const body = { taskId: e.taskId, contextId: e.contextId, status: renderStatus(v, e.status) }
      return v === "1.0" ? { statusUpdate: body } : { kind: "status-update", ...body, final: e.final }
    }
    case "ArtifactUpdate": {
      const body = {
        taskId: e.taskId,
        contextId: e.contextId,
        artifact: renderArtifact(v, e.artifact),
        append: e.append,
        lastChunk: e.lastChunk
      }
      return v === "1.0" ? { artifactUpdate: body } : { kind: "artifact-update", ...body }
    }
  }
}

type A2aEvent =
  | Extract<TaskProgress, { readonly _tag: "Snapshot" | "Status" }>
  | {
    readonly _tag: "ArtifactUpdate"
    readonly taskId: string
    readonly contextId: string
    readonly artifact: Artifact
    readonly append: boolean
    readonly lastChunk: boolean
  }

/**
 * A task's progress as A2A stream events: text deltas are chunks of the
 * `response` artifact (the first one opens it, later ones append); the final
 * artifact then only closes it. Tool progress has no A2A event.
 */
export const renderProgress = <E>(v: Version, progress: Stream.Stream<TaskProgress, E>): Stream.Stream<unknown, E> =>
  progress.pipe(
    Stream.mapAccum(false, (streamedText, p): [boolean, Option.Option<A2aEvent>] => {
      switch (p._tag) {
        case "Snapshot":
        case "Status":
          return [streamedText, Option.some(p)]
        case "Delta":
          return [true, Option.some({
            _tag: "ArtifactUpdate",
            taskId: p.taskId,
            contextId: p.contextId,
            artifact: { artifactId: "response", name: "response", parts: [{ kind: "text", text: p.text }] },
            append: streamedText,
            lastChunk: false
          })]
        case "Artifact":
          // Already streamed chunk by chunk: only close it.
          return [streamedText, Option.some({
            _tag: "ArtifactUpdate",
            taskId: p.taskId,
            contextId: p.contextId,
            artifact: streamedText ? { ...p.artifact, parts: [] } : p.artifact,
            append: streamedText,
            lastChunk: true
          })]
        case "Tool":
          return [streamedText, Option.none()]
      }
    }),
    Stream.filterMap((e) => Option.map(e, (event) => renderEvent(v, event)))
  )

/** SendMessage's result: v1.0 `{ task }`, v0.3 the task itself. */
export const renderSendResult = (v: Version, t: A2aTask, historyLength?: number) =>
  v === "1.0" ? { task: renderTask(v, t, historyLength) } : renderTask(v, t, historyLength)

export const parseV1Message = (m: typeof V1Message.Type): A2aMessage => ({
  messageId: m.messageId,
  role: m.role === "ROLE_AGENT" ? "agent" : "user",
  parts: m.parts.map((p): Part => {
    const meta = p.metadata ? { metadata: p.metadata } : {}
    if (p.text !== undefined) return { kind: "text", text: p.text, ...meta }
    if (p.data !== undefined) return { kind: "data", data: p.data, ...meta }
    return {
      kind: "file",
      ...(p.url !== undefined ? { url: p.url } : {}),
      ...(p.raw !== undefined ? { bytes: p.raw } : {}),
      ...(p.mediaType ? { mediaType: p.mediaType } : {}),
      ...(p.filename ? { filename: p.filename } : {}),
      ...meta
    }
  }),
  ...(m.contextId ? { contextId: m.contextId } : {}),
  ...(m.taskId ? { taskId: m.taskId } : {}),
  ...(m.metadata ? { metadata: m.metadata } : {}),
  ...(m.referenceTaskIds ? { referenceTaskIds: m.referenceTaskIds } : {})
})

export const parseV03Message = (m: typeof V03Message.Type): A2aMessage => ({
  messageId: m.messageId,
  role: m.role,
  parts: m.parts.map((p): Part => {
    const meta = p.metadata ? { metadata: p.metadata } : {}
    switch (p.kind) {
      case "text":
        return { kind: "text", text: p.text, ...meta }
      case "data":
        return { kind: "data", data: p.data, ...meta }
      case "file":
        return {
          kind: "file",
          ...(p.file.uri !== undefined ? { url: p.file.uri } : {}),
          ...(p.file.bytes !== undefined ? { bytes: p.file.bytes } : {}),
          ...(p.file.mimeType ? { mediaType: p.file.mimeType } : {}),
          ...(p.file.name ? { filename: p.file.name } : {}),
          ...meta
        }
    }
  }),
  ...(m.contextId ? { contextId: m.contextId } : {}),
  ...(m.taskId ? { taskId: m.taskId } : {}),
  ...(m.metadata ? { metadata: m.metadata } : {}),
  ...(m.referenceTaskIds ? { referenceTaskIds: m.referenceTaskIds } : {})
})
