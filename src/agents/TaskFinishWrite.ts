import type { A2aMessage, A2aTask, Artifact, TaskState } from "../domain/Task.ts"
import { TERMINAL_STATES } from "../domain/Task.ts"
import type { ReplyWriteKind } from "../cluster/ReplyWrites.ts"
import type { MessageEntry, RunRecord } from "./TaskRepo.ts"

/**
 * A run's end written with the persisted `Execute`'s reply (src/cluster/ReplyWrites.ts): what
 * `TaskRepo.finishRun` writes (final status, messages, artifacts, the run row), for every task
 * whose reply is in one group, in the statement that stores those replies. One commit per group
 * instead of one per task plus the replies' own.
 *
 * Only for a task the run created itself (a blocking send's `create`): nobody could read it
 * before the run, so the task it answers is known without reading it back (`finishedTask`).
 * The task moves only while not terminal, as in `finishRun`; the Agent entity answers a Cancel
 * of a task whose end is waiting for its reply with that end, so nothing ends it meanwhile.
 */
export interface FinishRow {
  readonly task_id: string
  readonly state: TaskState
  readonly status_message: A2aMessage
  readonly artifacts: ReadonlyArray<Artifact>
  readonly messages: ReadonlyArray<MessageEntry>
  /** The task's new `updated_at`: the answered task's status timestamp, so both agree. */
  readonly updated_at: string
  readonly run: ReturnType<typeof runJson>
}

const TERMINAL_SQL = TERMINAL_STATES.map((s) => `'${s}'`).join(", ")

const runJson = (run: RunRecord) => ({
  id: run.id,
  task_id: run.taskId,
  agent_id: run.agentId,
  project_id: run.projectId,
  requested_provider: run.requestedProvider,
  provider: run.provider,
  model: run.model,
  status: run.status,
  steps: run.steps,
  input_tokens: run.inputTokens,
  output_tokens: run.outputTokens,
  cost_usd: run.costUsd,
  error: run.error,
  started_at: run.startedAt.toISOString(),
  duration_ms: run.durationMs
})

export const finishRow = (input: {
  readonly taskId: string
  readonly state: TaskState
  readonly statusMessage: A2aMessage
  readonly messages: ReadonlyArray<MessageEntry>
  readonly artifacts: ReadonlyArray<Artifact>
  readonly run: RunRecord
  readonly updatedAt: Date
}): FinishRow => ({
  task_id: input.taskId,
  state: input.state,
  status_message: input.statusMessage,
  artifacts: input.artifacts,
  messages: input.messages,
  updated_at: input.updatedAt.toISOString(),
  run: runJson(input.run)
})

export const finishWrite: ReplyWriteKind<FinishRow> = {
  name: "agent_task_finish",
  parameterCount: 1,
  parameters: (rows) => [JSON.stringify(rows)],
  ctes: (p) => `
    agent_finish AS (
      SELECT * FROM jsonb_to_recordset($${p}::jsonb) AS f(
        task_id text, state text, status_message jsonb, artifacts jsonb, messages jsonb, updated_at timestamptz, run jsonb)
    ),
    agent_finish_ended AS (
      UPDATE agent_tasks t SET state = f.state, status_message = f.status_message,
        artifacts = t.artifacts || f.artifacts, updated_at = f.updated_at
      FROM agent_finish f
      WHERE t.id = f.task_id AND t.state NOT IN (${TERMINAL_SQL})
      RETURNING t.id
    ),
    agent_finish_messages AS (
      INSERT INTO agent_messages (task_id, message_id, role, parts, llm)
      SELECT f.task_id, e.value ->> 'messageId', e.value ->> 'role', e.value -> 'parts', e.value -> 'llm'
      FROM agent_finish f
      JOIN agent_finish_ended ended ON ended.id = f.task_id
      CROSS JOIN LATERAL jsonb_array_elements(f.messages) WITH ORDINALITY AS e(value, n)
      ORDER BY f.task_id, e.n
    ),
    agent_finish_runs AS (
      INSERT INTO agent_runs (id, task_id, agent_id, project_id, requested_provider, provider, model, status, steps,
                              input_tokens, output_tokens, cost_usd, error, started_at, duration_ms)
      SELECT r.id, r.task_id, r.agent_id, r.project_id, r.requested_provider, r.provider, r.model, r.status, r.steps,
             r.input_tokens, r.output_tokens, r.cost_usd, r.error, r.started_at, r.duration_ms
      FROM agent_finish f CROSS JOIN LATERAL jsonb_to_record(f.run) AS r(
        id text, task_id text, agent_id text, project_id text, requested_provider text, provider text, model text,
        status text, steps int, input_tokens int, output_tokens int, cost_usd float8, error text,
        started_at timestamptz, duration_ms float8)
    )`
}

/**
 * The task a just-created task becomes with this end, as `finishRun` would read it back: its
 * first message and the run's non-tool messages as history, the run's artifacts, its metadata.
 */
export const finishedTask = (input: {
  readonly taskId: string
  readonly contextId: string
  readonly state: TaskState
  readonly statusMessage: A2aMessage
  readonly userMessage: MessageEntry
  readonly messages: ReadonlyArray<MessageEntry>
  readonly artifacts: ReadonlyArray<Artifact>
  readonly metadata: Record<string, unknown> | undefined
  readonly updatedAt: Date
}): A2aTask => ({
  id: input.taskId,
  contextId: input.contextId,
  status: { state: input.state, message: input.statusMessage, timestamp: input.updatedAt.toISOString() },
  artifacts: [...input.artifacts],
  history: [input.userMessage, ...input.messages].flatMap((m): Array<A2aMessage> =>
    m.role === "tool" ? [] : [{ messageId: m.messageId, role: m.role, parts: m.parts, taskId: input.taskId, contextId: input.contextId }]
  ),
  ...(input.metadata !== undefined && Object.keys(input.metadata).length > 0 ? { metadata: input.metadata } : {})
})
