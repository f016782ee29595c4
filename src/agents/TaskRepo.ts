import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { A2aMessage, type A2aTask, Artifact, type Part, TaskState, TERMINAL_STATES, textOf } from "../domain/Task.ts"
import { ChatMessage } from "../llm/Types.ts"
import { Agent, type AgentRun } from "../domain/Agent.ts"
import { COMMIT_WITHOUT_FLUSH_WAIT, SeparateDatabaseServer } from "../db/CommitWithoutFlushWait.ts"
import { agentJsonOf } from "./AgentRepo.ts"

export interface StoredTask {
  readonly task: A2aTask
  readonly agentId: string
  readonly projectId: string
}

export interface MessageEntry {
  readonly messageId: string
  readonly role: "user" | "agent" | "tool"
  readonly parts: A2aMessage["parts"]
  readonly llm: ChatMessage
}

/** A task's first message: the user's parts, and their text as the model's user turn. */
export const userMessageEntry = (messageId: string, parts: ReadonlyArray<Part>): MessageEntry => ({
  messageId,
  role: "user",
  parts,
  llm: { role: "user", content: textOf(parts) }
})

const HistoryEntry = Schema.Struct({
  messageId: Schema.String,
  role: Schema.Literal("user", "agent"),
  parts: A2aMessage.fields.parts
})
const TaskRow = Schema.Struct({
  id: Schema.String,
  agentId: Schema.String,
  projectId: Schema.String,
  contextId: Schema.String,
  state: TaskState,
  statusMessage: Schema.NullOr(A2aMessage),
  artifacts: Schema.Array(Artifact),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  updatedAt: Schema.DateFromSelf,
  history: Schema.Array(HistoryEntry)
})
const ClaimRow = Schema.Struct({
  agentId: Schema.String,
  projectId: Schema.String,
  contextId: Schema.String,
  state: TaskState,
  claimed: Schema.Boolean,
  agent: Schema.NullOr(Agent),
  transcript: Schema.Array(ChatMessage)
})

/** A task as a run starts it: its keys and, once claimed, the conversation so far. */
export type TaskClaim =
  | {
    readonly _tag: "Claimed"
    /** The task's agent as the claim read it: the run needs no read of its own. */
    readonly agent: Agent
    readonly agentId: string
    readonly projectId: string
    readonly contextId: string
    readonly transcript: ReadonlyArray<ChatMessage>
  }
  /** Not runnable: already terminal (or moved on concurrently), or its agent is gone. */
  | {
    readonly _tag: "NotRunnable"
    readonly agentId: string
    readonly projectId: string
    readonly contextId: string
    readonly state: TaskState
    readonly agentExists: boolean
  }

/**
 * The conversation's LLM transcript as JSON: every message of `agent`'s tasks in `context`
 * (SQL expressions: columns of the statement it is part of), tool turns included, in order;
 * `[]` when new.
 */
export const transcriptSql = (context: string, agent: string) => `COALESCE((
        SELECT json_agg(m.llm ORDER BY m.seq) FROM agent_messages m JOIN agent_tasks c ON c.id = m.task_id
        WHERE c.context_id = ${context} AND c.agent_id = ${agent}
      ), '[]'::json)`

/** What writing a task already claimed reads back: its agent and the conversation's earlier turns. */
export const CreatedClaimRow = Schema.Struct({ agent: Agent, transcript: Schema.Array(ChatMessage) })

/** A task to write with its first message. */
export interface NewTaskInput {
  readonly id: string
  readonly agentId: string
  readonly projectId: string
  readonly contextId: string
  readonly createdBy: string | null
  readonly userMessage: MessageEntry
  readonly metadata?: Record<string, unknown> | undefined
}

/**
 * The claim on a task written already claimed (`createClaimed`, or with its request:
 * TaskCreateWrite.ts): what the write read back, the task's own message after the earlier turns.
 */
export const createdClaim = (input: NewTaskInput, read: typeof CreatedClaimRow.Type): TaskClaim => ({
  _tag: "Claimed",
  agent: read.agent,
  agentId: input.agentId,
  projectId: input.projectId,
  contextId: input.contextId,
  transcript: [...read.transcript, input.userMessage.llm]
})

/** How a run ends its task: final state and message, the run's messages and artifacts, its row. */
export interface RunEnd {
  readonly taskId: string
  readonly state: TaskState
  readonly statusMessage: A2aMessage
  readonly messages: ReadonlyArray<MessageEntry>
  readonly artifacts: ReadonlyArray<Artifact>
  readonly run: RunRecord
}

/** One execution of a task, as `agent_runs` stores it. */
export type RunRecord = Omit<AgentRun, "startedAt"> & { readonly projectId: string; readonly startedAt: Date }

/** An `agent_runs` row (its columns in camelCase, as the client transforms them). */
export const runRow = (run: RunRecord) => ({
  id: run.id,
  taskId: run.taskId,
  agentId: run.agentId,
  projectId: run.projectId,
  requestedProvider: run.requestedProvider,
  provider: run.provider,
  model: run.model,
  status: run.status,
  steps: run.steps,
  inputTokens: run.inputTokens,
  outputTokens: run.outputTokens,
  costUsd: run.costUsd,
  error: run.error,
  startedAt: run.startedAt,
  durationMs: run.durationMs
})

// One statement per task read: the row plus its A2A history (tool turns are transcript only).
const TASK_SELECT = `t.id, t.agent_id, t.project_id, t.context_id, t.state, t.status_message, t.artifacts, t.metadata, t.updated_at,
  COALESCE((
    SELECT json_agg(json_build_object('messageId', m.message_id, 'role', m.role, 'parts', m.parts) ORDER BY m.seq)
    FROM agent_messages m WHERE m.task_id = t.id AND m.role <> 'tool'
  ), '[]'::json) AS history`
export const TERMINAL_SQL = TERMINAL_STATES.map((s) => `'${s}'`).join(", ")

/** Tasks, their messages, runs and push configs (sql/0020_agent_tasks.ts). */
export class TaskRepo extends Effect.Service<TaskRepo>()("Agents/TaskRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const separateServer = yield* SeparateDatabaseServer
    const decodeTasks = Schema.decodeUnknown(Schema.Array(TaskRow))
    const decodeClaim = Schema.decodeUnknown(Schema.Array(ClaimRow))
    const decodeCreated = Schema.decodeUnknown(Schema.Array(Schema.Struct({ updatedAt: Schema.DateFromSelf })))
    const decodeCreatedClaim = Schema.decodeUnknown(Schema.Array(CreatedClaimRow))

    const assemble = (row: typeof TaskRow.Type): StoredTask => ({
      agentId: row.agentId,
      projectId: row.projectId,
      task: {
        id: row.id,
        contextId: row.contextId,
        status: {
          state: row.state,
          ...(row.statusMessage ? { message: row.statusMessage } : {}),
          timestamp: row.updatedAt.toISOString()
        },
        artifacts: row.artifacts,
        history: row.history.map((m): A2aMessage => ({
          messageId: m.messageId,
          role: m.role,
          parts: m.parts,
          taskId: row.id,
          contextId: row.contextId
        })),
        ...(Object.keys(row.metadata).length > 0 ? { metadata: row.metadata } : {})
      }
    })

    const toTasks = (rows: ReadonlyArray<unknown>) => Effect.map(decodeTasks(rows), (ts) => ts.map(assemble))

    /**
     * The new task and its first message in one atomic statement; answers the task as stored.
     * None when its agent does not exist (deleted since the caller's request named it).
     */
    const create = (input: NewTaskInput) =>
      sql`
        WITH task AS (
          INSERT INTO agent_tasks (id, agent_id, project_id, context_id, state, metadata, created_by)
          SELECT ${input.id}, ${input.agentId}, ${input.projectId}, ${input.contextId}, 'submitted',
                 ${JSON.stringify(input.metadata ?? {})}::jsonb, ${input.createdBy}
          WHERE EXISTS (SELECT 1 FROM agents WHERE id = ${input.agentId})
          RETURNING id, updated_at
        ), message AS (
          INSERT INTO agent_messages (task_id, message_id, role, parts, llm)
          SELECT id, ${input.userMessage.messageId}, ${input.userMessage.role},
                 ${JSON.stringify(input.userMessage.parts)}::jsonb, ${JSON.stringify(input.userMessage.llm)}::jsonb
          FROM task
        )
        SELECT updated_at FROM task`.pipe(
        Effect.flatMap(decodeCreated),
        Effect.orDie,
        Effect.map((rows) =>
          Option.map(Option.fromNullable(rows[0]), (row) =>
            assemble({
              id: input.id,
              agentId: input.agentId,
              projectId: input.projectId,
              contextId: input.contextId,
              state: "submitted",
              statusMessage: null,
              artifacts: [],
              metadata: input.metadata ?? {},
              updatedAt: row.updatedAt,
              history: input.userMessage.role === "tool"
                ? []
                : [{ messageId: input.userMessage.messageId, role: input.userMessage.role, parts: input.userMessage.parts }]
            }))
        )
      )

    const get = (id: string) =>
      sql`SELECT ${sql.literal(TASK_SELECT)} FROM agent_tasks t WHERE t.id = ${id}`.pipe(
        Effect.flatMap(toTasks),
        Effect.orDie,
        Effect.map((ts) => Option.fromNullable(ts[0]))
      )

    /**
     * Starts a run in one round trip: a queued (or interrupted, still
     * `working`) task whose agent exists becomes `working`, and its agent and
     * the conversation's LLM transcript (every task of the context, tool turns
     * included) come back with it. None when the task does not exist.
     */
    const claim = (id: string) =>
      sql`
        WITH task AS (
          SELECT id, agent_id, project_id, context_id, state FROM agent_tasks WHERE id = ${id}
        ), claimed AS (
          UPDATE agent_tasks t SET state = 'working', status_message = NULL, updated_at = now()
          WHERE t.id = ${id} AND t.state IN ('submitted', 'working')
            AND EXISTS (SELECT 1 FROM agents a WHERE a.id = t.agent_id)
          RETURNING t.id
        )
        SELECT task.agent_id, task.project_id, task.context_id, task.state,
          claimed.id IS NOT NULL AS claimed,
          CASE WHEN a.id IS NULL THEN NULL ELSE ${sql.literal(agentJsonOf("a"))} END AS agent,
          CASE WHEN claimed.id IS NULL THEN '[]'::json
            ELSE ${sql.literal(transcriptSql("task.context_id", "task.agent_id"))} END AS transcript
        FROM task LEFT JOIN claimed ON claimed.id = task.id LEFT JOIN agents a ON a.id = task.agent_id`.pipe(
        Effect.flatMap(decodeClaim),
        Effect.orDie,
        Effect.map((rows) =>
          Option.map(Option.fromNullable(rows[0]), (r): TaskClaim =>
            r.claimed && r.agent !== null
              ? { _tag: "Claimed", agent: r.agent, agentId: r.agentId, projectId: r.projectId, contextId: r.contextId, transcript: r.transcript }
              : {
                _tag: "NotRunnable",
                agentId: r.agentId,
                projectId: r.projectId,
                contextId: r.contextId,
                state: r.state,
                agentExists: r.agent !== null
              })
        )
      )

    /**
     * A new task created already `working`, in one round trip: the row and its first message
     * are written only when its agent exists, and the agent and the conversation's transcript
     * come back as `claim` answers them. None when nothing was written (the task exists: a
     * repeated run, which `claim` answers; or the agent is gone).
     *
     * On a database server of its own the commit does not wait for the WAL flush
     * (src/db/CommitWithoutFlushWait.ts): everything it writes is in the persisted `Execute`,
     * stored and flushed before the run began, so if the server crashed and lost it the
     * message runs again and writes it again; the run's end and its reply flush it.
     */
    const createClaimed = (input: NewTaskInput) =>
      sql`
        WITH agent AS (
          SELECT ${sql.literal(agentJsonOf("a"))} AS agent, a.id AS agent_id, ${input.contextId}::text AS context_id
          FROM agents a WHERE a.id = ${input.agentId}
          ${sql.literal(separateServer ? `AND ${COMMIT_WITHOUT_FLUSH_WAIT}` : "")}
        ), task AS (
          INSERT INTO agent_tasks (id, agent_id, project_id, context_id, state, metadata, created_by)
          SELECT ${input.id}, ${input.agentId}, ${input.projectId}, ${input.contextId}, 'working',
                 ${JSON.stringify(input.metadata ?? {})}::jsonb, ${input.createdBy}
          FROM agent
          ON CONFLICT (id) DO NOTHING
          RETURNING id
        ), message AS (
          INSERT INTO agent_messages (task_id, message_id, role, parts, llm)
          SELECT id, ${input.userMessage.messageId}, ${input.userMessage.role},
                 ${JSON.stringify(input.userMessage.parts)}::jsonb, ${JSON.stringify(input.userMessage.llm)}::jsonb
          FROM task
        )
        -- The context's earlier turns as the statement began (its own message is not visible to it).
        SELECT agent.agent, ${sql.literal(transcriptSql("agent.context_id", "agent.agent_id"))} AS transcript
        FROM task CROSS JOIN agent`.pipe(
        Effect.flatMap(decodeCreatedClaim),
        Effect.orDie,
        Effect.map((rows) =>
          Option.map(Option.fromNullable(rows[0]), (r) => createdClaim(input, r))
        )
      )

    /** Moves a non-terminal task to `state`; None when it was already terminal (or missing). */
    const transition = (id: string, state: TaskState, statusMessage?: A2aMessage) =>
      sql`
        UPDATE agent_tasks SET state = ${state},
          status_message = ${statusMessage ? JSON.stringify(statusMessage) : null}::jsonb, updated_at = now()
        WHERE id = ${id} AND state NOT IN (${sql.literal(TERMINAL_SQL)})
        RETURNING id`.pipe(Effect.orDie, Effect.map((rows) => rows.length > 0))


    /**
     * Ends a run in one atomic statement: the run row (usage and cost) is
     * always recorded; the task moves to `state` with its messages and
     * artifacts only if it is not terminal yet (a task canceled meanwhile
     * gains no late answer). The task as it ended here, none when it had
     * already ended: the statement reads it back, so its caller needs no read.
     */
    const finishRun = (input: RunEnd) =>
      sql`
        WITH ended AS (
          UPDATE agent_tasks SET state = ${input.state}, status_message = ${JSON.stringify(input.statusMessage)}::jsonb,
            artifacts = artifacts || ${JSON.stringify(input.artifacts)}::jsonb, updated_at = now()
          WHERE id = ${input.taskId} AND state NOT IN (${sql.literal(TERMINAL_SQL)})
          RETURNING id, agent_id, project_id, context_id, state, status_message, artifacts, metadata, updated_at
        ), messages AS (
          INSERT INTO agent_messages (task_id, message_id, role, parts, llm)
          SELECT ended.id, e.value ->> 'messageId', e.value ->> 'role', e.value -> 'parts', e.value -> 'llm'
          FROM ended, jsonb_array_elements(${JSON.stringify(input.messages)}::jsonb) WITH ORDINALITY AS e(value, n)
          ORDER BY e.n
        ), run AS (
          INSERT INTO agent_runs ${sql.insert(runRow(input.run))}
        )
        -- The history as the statement began (its own inserts are not visible to it); the new entries follow in seq order.
        SELECT ${sql.literal(TASK_SELECT)} FROM ended t`.pipe(
        Effect.flatMap(decodeTasks),
        Effect.orDie,
        Effect.map((rows) =>
          Option.map(Option.fromNullable(rows[0]), (row) =>
            assemble({
              ...row,
              history: [
                ...row.history,
                ...input.messages.flatMap((m) => (m.role === "tool" ? [] : [{ messageId: m.messageId, role: m.role, parts: m.parts }]))
              ]
            }))
        )
      )

    const list = (filter: {
      readonly agentId?: string | undefined
      /** Without agentId: every agent of these projects. */
      readonly projectIds?: ReadonlyArray<string> | undefined
      readonly contextId?: string | undefined
      readonly state?: TaskState | undefined
      /** Only tasks whose status changed at or after this instant. */
      readonly updatedSince?: Date | undefined
      readonly limit: number
      readonly offset: number
    }) =>
      Effect.gen(function*() {
        if (filter.agentId === undefined && (filter.projectIds ?? []).length === 0) {
          return { tasks: [] as Array<StoredTask>, total: 0 }
        }
        const where = [
          filter.agentId !== undefined ? sql`agent_id = ${filter.agentId}` : sql.in("project_id", filter.projectIds ?? []),
          ...(filter.contextId ? [sql`context_id = ${filter.contextId}`] : []),
          ...(filter.state ? [sql`state = ${filter.state}`] : []),
          ...(filter.updatedSince ? [sql`updated_at >= ${filter.updatedSince}`] : [])
        ]
        const total = yield* sql<{ count: string }>`SELECT count(*)::text AS count FROM agent_tasks WHERE ${sql.and(where)}`
        const rows = yield* sql`
          SELECT ${sql.literal(TASK_SELECT)} FROM agent_tasks t WHERE ${sql.and(where)}
          ORDER BY t.updated_at DESC, t.id LIMIT ${filter.limit} OFFSET ${filter.offset}`
        return { tasks: yield* toTasks(rows), total: Number(total[0]?.count ?? 0) }
      }).pipe(Effect.orDie)

    const recordRun = (run: RunRecord) =>
      sql`INSERT INTO agent_runs ${sql.insert(runRow(run))}`.pipe(Effect.orDie, Effect.asVoid)

    const runs = (agentId: string, limit: number) =>
      sql<{
        id: string
        taskId: string
        agentId: string
        requestedProvider: string
        provider: string
        model: string
        status: string
        steps: number
        inputTokens: number
        outputTokens: number
        costUsd: number
        error: string | null
        startedAt: Date
        durationMs: number
      }>`
        SELECT id, task_id, agent_id, requested_provider, provider, model, status, steps, input_tokens, output_tokens,
               cost_usd, error, started_at, duration_ms
        FROM agent_runs WHERE agent_id = ${agentId} ORDER BY finished_at DESC LIMIT ${limit}`.pipe(
        Effect.orDie,
        Effect.map((rows) => rows.map((r): AgentRun => ({ ...r, costUsd: Number(r.costUsd), startedAt: new Date(r.startedAt).toISOString() })))
      )

    const putPushConfig = (
      taskId: string,
      config: { id: string; url: string; token?: string | undefined; authentication?: unknown; protocolVersion?: string | undefined }
    ) =>
      sql`
        INSERT INTO a2a_push_configs (task_id, id, url, token, authentication, protocol_version)
        VALUES (${taskId}, ${config.id}, ${config.url}, ${config.token ?? null},
                ${config.authentication === undefined ? null : JSON.stringify(config.authentication)}::jsonb, ${config.protocolVersion ?? "1.0"})
        ON CONFLICT (task_id, id) DO UPDATE SET url = EXCLUDED.url, token = EXCLUDED.token, authentication = EXCLUDED.authentication,
          protocol_version = EXCLUDED.protocol_version`
        .pipe(Effect.orDie, Effect.asVoid)

    const pushConfigs = (taskId: string) =>
      sql<{ id: string; url: string; token: string | null; authentication: unknown; protocolVersion: string }>`
        SELECT id, url, token, authentication, protocol_version FROM a2a_push_configs WHERE task_id = ${taskId} ORDER BY created_at, id`.pipe(
        Effect.orDie
      )

    const deletePushConfig = (taskId: string, id: string) =>
      sql`DELETE FROM a2a_push_configs WHERE task_id = ${taskId} AND id = ${id} RETURNING id`.pipe(
        Effect.orDie,
        Effect.map((rows) => rows.length > 0)
      )

    /** The project's tasks in progress (submitted or working), counted up to `limit` over their partial index (sql/0180). */
    const countActive = (projectId: string, limit: number) =>
      sql`SELECT count(*)::int AS n FROM (SELECT 1 FROM agent_tasks
          WHERE project_id = ${projectId} AND state IN ('submitted', 'working') LIMIT ${limit}) active`.pipe(
        Effect.map((rows) => Number((rows[0] as { n: number }).n)),
        Effect.orDie
      )

    return {
      create,
      get,
      countActive,
      claim,
      createClaimed,
      transition,
      finishRun,
      list,
      recordRun,
      runs,
      putPushConfig,
      pushConfigs,
      deletePushConfig
    } as const
  })
}) {}
