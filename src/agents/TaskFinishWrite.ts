import type { A2aMessage, A2aTask } from "../domain/Task.ts"
import { jsonRowsKind } from "../cluster/ReplyWrites.ts"
import { type MessageEntry, type RunEnd, runRow, TERMINAL_SQL } from "./TaskRepo.ts"

/**
 * A run's end written with the persisted `Execute`'s reply (src/cluster/ReplyWrites.ts): what
 * `TaskRepo.finishRun` writes (final status, messages, artifacts, the run row), for every task
 * whose reply is in one group, in the statement that stores those replies. One commit per group
 * instead of one per task plus the replies' own.
 *
 * Only for a task created for this run (a blocking send's `create`, written with its request
 * or by the run): only its run changes it, so the task it answers is known without reading it
 * back (`finishedTask`). The task moves only while not terminal, as in `finishRun`; the Agent
 * entity answers a Cancel of a task whose end is waiting for its reply with that end, so
 * nothing ends it meanwhile, and a Cancel before the run started makes the run read the task.
 *
 * Each task is found by its key, one row at a time (the LATERAL subquery with OFFSET 0 is not
 * flattened into a join), as exitGroupStatement finds its requests: joined directly, the JSON
 * rows (100 assumed) were planned as a hash join over a sequential scan of `agent_tasks`
 * whenever its statistics said it was small, and the prepared plan kept that as it grew (a
 * blocking send's reply statement 1.2 → 2.0 ms after 4,000 tasks; issue #19).
 */
export interface FinishRow {
  readonly taskId: string
  readonly state: RunEnd["state"]
  readonly statusMessage: A2aMessage
  readonly artifacts: RunEnd["artifacts"]
  readonly messages: RunEnd["messages"]
  /** The task's new `updated_at`: the answered task's status timestamp, so both agree. */
  readonly updatedAt: string
  /** Its `agent_runs` row as `TaskRepo.finishRun` inserts it (camelCase; dates as ISO strings in JSON). */
  readonly run: ReturnType<typeof runRow>
}

/** `end` as this write's row, `updatedAt` the task's new status time. */
export const finishRow = (end: RunEnd, updatedAt: Date): FinishRow => ({
  taskId: end.taskId,
  state: end.state,
  statusMessage: end.statusMessage,
  artifacts: end.artifacts,
  messages: end.messages,
  updatedAt: updatedAt.toISOString(),
  run: runRow(end.run)
})

export const finishWrite = jsonRowsKind<FinishRow>("agent_task_finish", (rows) => `
    agent_finish AS (
      SELECT * FROM jsonb_to_recordset(${rows}) AS f(
        "taskId" text, state text, "statusMessage" jsonb, artifacts jsonb, messages jsonb, "updatedAt" timestamptz, run jsonb)
    ),
    agent_finish_ended AS (
      UPDATE agent_tasks t SET state = f.state, status_message = f."statusMessage",
        artifacts = t.artifacts || f.artifacts, updated_at = f."updatedAt"
      FROM (
        SELECT f.*, own.id AS own_id
        FROM agent_finish f CROSS JOIN LATERAL (SELECT id FROM agent_tasks WHERE id = f."taskId" OFFSET 0) AS own
      ) AS f
      WHERE t.id = f.own_id AND t.state NOT IN (${TERMINAL_SQL})
      RETURNING t.id
    ),
    agent_finish_messages AS (
      INSERT INTO agent_messages (task_id, message_id, role, parts, llm)
      SELECT f."taskId", e.value ->> 'messageId', e.value ->> 'role', e.value -> 'parts', e.value -> 'llm'
      FROM agent_finish f
      JOIN agent_finish_ended ended ON ended.id = f."taskId"
      CROSS JOIN LATERAL jsonb_array_elements(f.messages) WITH ORDINALITY AS e(value, n)
      ORDER BY f."taskId", e.n
    ),
    agent_finish_runs AS (
      INSERT INTO agent_runs (id, task_id, agent_id, project_id, requested_provider, provider, model, status, steps,
                              input_tokens, output_tokens, cost_usd, error, started_at, duration_ms)
      SELECT r.id, r."taskId", r."agentId", r."projectId", r."requestedProvider", r.provider, r.model, r.status, r.steps,
             r."inputTokens", r."outputTokens", r."costUsd", r.error, r."startedAt", r."durationMs"
      FROM agent_finish f CROSS JOIN LATERAL jsonb_to_record(f.run) AS r(
        id text, "taskId" text, "agentId" text, "projectId" text, "requestedProvider" text, provider text, model text,
        status text, steps int, "inputTokens" int, "outputTokens" int, "costUsd" float8, error text,
        "startedAt" timestamptz, "durationMs" float8)
    )`)

/**
 * The task a just-created task becomes with this end, as `finishRun` would read it back: its
 * first message and the run's non-tool messages as history, the run's artifacts, its metadata.
 */
export const finishedTask = (end: Omit<RunEnd, "run"> & {
  readonly contextId: string
  readonly userMessage: MessageEntry
  readonly metadata: Record<string, unknown> | undefined
  readonly updatedAt: Date
}): A2aTask => ({
  id: end.taskId,
  contextId: end.contextId,
  status: { state: end.state, message: end.statusMessage, timestamp: end.updatedAt.toISOString() },
  artifacts: [...end.artifacts],
  history: [end.userMessage, ...end.messages].flatMap((m): Array<A2aMessage> =>
    m.role === "tool" ? [] : [{ messageId: m.messageId, role: m.role, parts: m.parts, taskId: end.taskId, contextId: end.contextId }]
  ),
  ...(end.metadata !== undefined && Object.keys(end.metadata).length > 0 ? { metadata: end.metadata } : {})
})
