import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { A2aTask, Part, TaskState } from "../src/domain/Task.ts"

/**
 * One agent = one entity (id = agent id), sharded across runners. Its state
 * is the task history in SQL (agent_tasks / agent_messages), so it can be
 * passivated when idle and resumed anywhere.
 *
 * `Execute` is persisted: a task accepted by the gateway survives a crash and
 * runs (again, from the start) after restart; the handler answers an already
 * finished task without re-running it. Its reply is the run's outcome, so a
 * blocking caller simply awaits it. It is uninterruptible for clients: a
 * caller that stops waiting (disconnect, timeout) leaves the task running;
 * only `Cancel` stops it. `Cancel` is volatile and reaches the running task's
 * fiber on the runner that hosts the agent.
 */
export const TaskOutcome = Schema.Struct({
  taskId: Schema.String,
  state: TaskState,
  /**
   * The task as the run ended it, when this run ended it (absent otherwise, and in
   * replies stored before it existed): a blocking caller answers with it instead of
   * reading the task back.
   */
  task: Schema.optional(A2aTask)
})
export type TaskOutcome = typeof TaskOutcome.Type

/**
 * A task that does not exist yet: a blocking send hands its agent the task's first message
 * instead of writing the task row first. The task is written already `working` in the
 * statement that stores this `Execute` (src/agents/TaskCreateWrite.ts), or by the run when the
 * request reached it from storage without that; either way no statement of its own. Only a
 * caller that answers after the run may do so: the task's id is known from the answer.
 */
export const NewTask = Schema.Struct({
  projectId: Schema.String,
  contextId: Schema.String,
  createdBy: Schema.NullOr(Schema.String),
  messageId: Schema.String,
  parts: Schema.Array(Part),
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
export type NewTask = typeof NewTask.Type

export const AgentEntity = Entity.make("Agent", [
  Rpc.make("Execute", {
    payload: { taskId: Schema.String, create: Schema.optional(NewTask) },
    success: TaskOutcome,
    primaryKey: (p) => p.taskId
  }).annotate(ClusterSchema.Persisted, true).annotate(ClusterSchema.Uninterruptible, "client"),
  Rpc.make("Cancel", {
    payload: { taskId: Schema.String },
    success: TaskOutcome
  })
])
