import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { A2aMessage, type A2aTask, Artifact, type TaskState } from "../a2a/Model.ts"
import { ChatMessage } from "../llm/Types.ts"
import type { AgentRun } from "./Domain.ts"

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

const TaskRow = Schema.Struct({
  id: Schema.String,
  agentId: Schema.String,
  projectId: Schema.String,
  contextId: Schema.String,
  state: Schema.String,
  statusMessage: Schema.NullOr(A2aMessage),
  artifacts: Schema.Array(Artifact),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  updatedAt: Schema.DateFromSelf
})
const MessageRow = Schema.Struct({
  taskId: Schema.String,
  messageId: Schema.String,
  role: Schema.Literal("user", "agent", "tool"),
  parts: A2aMessage.fields.parts,
  llm: ChatMessage
})

const TASK_COLUMNS = "id, agent_id, project_id, context_id, state, status_message, artifacts, metadata, updated_at"
const TERMINAL = ["completed", "canceled", "failed", "rejected"]

/** Tasks, their messages, runs and push configs (sql/0020_agent_tasks.ts). */
export class TaskRepo extends Effect.Service<TaskRepo>()("Agents/TaskRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const decodeTask = Schema.decodeUnknown(TaskRow)
    const decodeMessages = Schema.decodeUnknown(Schema.Array(MessageRow))

    const assemble = (row: typeof TaskRow.Type, messages: ReadonlyArray<typeof MessageRow.Type>): StoredTask => ({
      agentId: row.agentId,
      projectId: row.projectId,
      task: {
        id: row.id,
        contextId: row.contextId,
        status: {
          state: row.state as TaskState,
          ...(row.statusMessage ? { message: row.statusMessage } : {}),
          timestamp: row.updatedAt.toISOString()
        },
        artifacts: row.artifacts,
        history: messages.filter((m) => m.role !== "tool").map((m): A2aMessage => ({
          messageId: m.messageId,
          role: m.role === "user" ? "user" : "agent",
          parts: m.parts,
          taskId: row.id,
          contextId: row.contextId
        })),
        ...(Object.keys(row.metadata).length > 0 ? { metadata: row.metadata } : {})
      }
    })

    const loadMessages = (taskIds: ReadonlyArray<string>) =>
      taskIds.length === 0
        ? Effect.succeed([] as ReadonlyArray<typeof MessageRow.Type>)
        : sql`SELECT task_id, message_id, role, parts, llm FROM agent_messages WHERE ${sql.in("task_id", taskIds)} ORDER BY seq`.pipe(
          Effect.flatMap(decodeMessages),
          Effect.orDie
        )

    const withMessages = (rows: ReadonlyArray<unknown>) =>
      Effect.gen(function*() {
        const tasks = yield* Effect.forEach(rows, (r) => decodeTask(r)).pipe(Effect.orDie)
        const messages = yield* loadMessages(tasks.map((t) => t.id))
        return tasks.map((t) => assemble(t, messages.filter((m) => m.taskId === t.id)))
      })

    const insertMessages = (taskId: string, entries: ReadonlyArray<MessageEntry>) =>
      entries.length === 0 ? Effect.void : sql`INSERT INTO agent_messages ${
        sql.insert(entries.map((e) => ({
          taskId,
          messageId: e.messageId,
          role: e.role,
          parts: JSON.stringify(e.parts),
          llm: JSON.stringify(e.llm)
        })))
      }`.pipe(Effect.asVoid)

    const create = (input: {
      readonly id: string
      readonly agentId: string
      readonly projectId: string
      readonly contextId: string
      readonly createdBy: string | null
      readonly userMessage: MessageEntry
      readonly metadata?: Record<string, unknown>
    }) =>
      sql.withTransaction(Effect.gen(function*() {
        yield* sql`
          INSERT INTO agent_tasks (id, agent_id, project_id, context_id, state, metadata, created_by)
          VALUES (${input.id}, ${input.agentId}, ${input.projectId}, ${input.contextId}, 'submitted',
                  ${JSON.stringify(input.metadata ?? {})}::jsonb, ${input.createdBy})`
        yield* insertMessages(input.id, [input.userMessage])
      })).pipe(Effect.orDie)

    const get = (id: string) =>
      sql`SELECT ${sql.literal(TASK_COLUMNS)} FROM agent_tasks WHERE id = ${id}`.pipe(
        Effect.orDie,
        Effect.flatMap(withMessages),
        Effect.map((ts) => Option.fromNullable(ts[0]))
      )

    /** Moves a non-terminal task to `state`; None when it was already terminal (or missing). */
    const transition = (id: string, state: TaskState, statusMessage?: A2aMessage) =>
      sql`
        UPDATE agent_tasks SET state = ${state},
          status_message = ${statusMessage ? JSON.stringify(statusMessage) : null}::jsonb, updated_at = now()
        WHERE id = ${id} AND state NOT IN (${sql.literal(TERMINAL.map((s) => `'${s}'`).join(", "))})
        RETURNING id`.pipe(Effect.orDie, Effect.map((rows) => rows.length > 0))

    const appendMessages = (taskId: string, entries: ReadonlyArray<MessageEntry>) =>
      insertMessages(taskId, entries).pipe(Effect.orDie)

    const addArtifact = (taskId: string, artifact: Artifact) =>
      sql`UPDATE agent_tasks SET artifacts = artifacts || ${JSON.stringify([artifact])}::jsonb WHERE id = ${taskId}`.pipe(
        Effect.orDie,
        Effect.asVoid
      )

    const list = (filter: {
      readonly agentId?: string | undefined
      /** Without agentId: every agent of these projects. */
      readonly projectIds?: ReadonlyArray<string> | undefined
      readonly contextId?: string | undefined
      readonly state?: TaskState | undefined
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
          ...(filter.state ? [sql`state = ${filter.state}`] : [])
        ]
        const total = yield* sql<{ count: string }>`SELECT count(*)::text AS count FROM agent_tasks WHERE ${sql.and(where)}`
        const rows = yield* sql`
          SELECT ${sql.literal(TASK_COLUMNS)} FROM agent_tasks WHERE ${sql.and(where)}
          ORDER BY updated_at DESC, id LIMIT ${filter.limit} OFFSET ${filter.offset}`
        return { tasks: yield* withMessages(rows), total: Number(total[0]?.count ?? 0) }
      }).pipe(Effect.orDie)

    /** The LLM transcript of a conversation (every task of the context, tool turns included). */
    const transcript = (contextId: string, agentId: string) =>
      sql`
        SELECT m.llm FROM agent_messages m JOIN agent_tasks t ON t.id = m.task_id
        WHERE t.context_id = ${contextId} AND t.agent_id = ${agentId}
        ORDER BY m.seq`.pipe(
        Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ llm: ChatMessage })))),
        Effect.map((rows) => rows.map((r) => r.llm)),
        Effect.orDie
      )

    const recordRun = (run: Omit<AgentRun, "startedAt"> & { readonly projectId: string; readonly startedAt: Date }) =>
      sql`INSERT INTO agent_runs ${
        sql.insert({
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
      }`.pipe(Effect.orDie, Effect.asVoid)

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

    const putPushConfig = (taskId: string, config: { id: string; url: string; token?: string | undefined; authentication?: unknown }) =>
      sql`
        INSERT INTO a2a_push_configs (task_id, id, url, token, authentication)
        VALUES (${taskId}, ${config.id}, ${config.url}, ${config.token ?? null},
                ${config.authentication === undefined ? null : JSON.stringify(config.authentication)}::jsonb)
        ON CONFLICT (task_id, id) DO UPDATE SET url = EXCLUDED.url, token = EXCLUDED.token, authentication = EXCLUDED.authentication`
        .pipe(Effect.orDie, Effect.asVoid)

    const pushConfigs = (taskId: string) =>
      sql<{ id: string; url: string; token: string | null; authentication: unknown }>`
        SELECT id, url, token, authentication FROM a2a_push_configs WHERE task_id = ${taskId} ORDER BY created_at, id`.pipe(
        Effect.orDie
      )

    const deletePushConfig = (taskId: string, id: string) =>
      sql`DELETE FROM a2a_push_configs WHERE task_id = ${taskId} AND id = ${id} RETURNING id`.pipe(
        Effect.orDie,
        Effect.map((rows) => rows.length > 0)
      )

    return {
      create,
      get,
      transition,
      appendMessages,
      addArtifact,
      list,
      transcript,
      recordRun,
      runs,
      putPushConfig,
      pushConfigs,
      deletePushConfig
    } as const
  })
}) {}
