import { Schema } from "effect"
import type { NewTask } from "../../entities/AgentEntity.ts"
import { AgentEntity } from "../../entities/AgentEntity.ts"
import type { RequestWriteKind } from "../cluster/RequestWrites.ts"
import { requestKey } from "../cluster/RequestWrites.ts"
import { agentJsonOf } from "./AgentRepo.ts"
import { CreatedClaimRow, type NewTaskInput, transcriptSql, userMessageEntry } from "./TaskRepo.ts"

/**
 * A blocking send's task created with its persisted `Execute` (src/cluster/RequestWrites.ts):
 * what `TaskRepo.createClaimed` writes and reads (the task already `working` with its first
 * message, only when its agent exists; the agent and the conversation's earlier turns back),
 * in the statement that stores the request, for every such request of its group. The run then
 * starts without a statement of its own; one commit per send fewer.
 *
 * The handler of an `Execute` that finds no result here (read back from storage: another
 * runner, a restart) runs `createClaimed`, which finds the task written and claims it as stored.
 */
/** The task `create` describes, as `TaskRepo.createClaimed` and this write take it. */
export const createRow = (taskId: string, agentId: string, create: NewTask): NewTaskInput => ({
  id: taskId,
  agentId,
  projectId: create.projectId,
  contextId: create.contextId,
  createdBy: create.createdBy,
  metadata: create.metadata,
  userMessage: userMessageEntry(create.messageId, create.parts)
})

/** The primary key of the `Execute` that carries `taskId` to `agentId` (the write's key). */
export const executeKey = (agentId: string, taskId: string) => requestKey(AgentEntity.type, agentId, "Execute", taskId)

export const createWrite: RequestWriteKind<NewTaskInput, typeof CreatedClaimRow.Type> = {
  name: "agent_create",
  decode: Schema.decodeUnknown(CreatedClaimRow),
  // The agent and the transcript are read for every row, before the filter on what the
  // statement stored: so the planner estimates the same rows with or without the parameters'
  // values and keeps one generic plan. Filtered by `stored` first (as a join), each call was
  // planned anew for its row count (0.6 ms of planning per statement on PostgreSQL 15 here).
  ctes: (rows) => `
    agent_create_rows AS (
      SELECT * FROM jsonb_to_recordset(${rows}) AS w(
        "messageId" text, id text, "agentId" text, "projectId" text, "contextId" text,
        "createdBy" text, metadata jsonb, "userMessage" jsonb)
    ),
    -- The context's earlier turns as the statement began (its own message is not visible to it).
    -- The agent looked up row by row by its key (the subquery with OFFSET 0 is not flattened into
    -- a join, which the planner, expecting 100 JSON rows, made a hash join over every agent).
    agent_create_read AS (
      SELECT w."messageId", w.id, a.agent,
        ${transcriptSql(`w."contextId"`, `w."agentId"`)} AS transcript
      FROM agent_create_rows w
      CROSS JOIN LATERAL (SELECT ${agentJsonOf("a")} AS agent FROM agents a WHERE a.id = w."agentId" OFFSET 0) AS a
    ),
    agent_create_tasks AS (
      INSERT INTO agent_tasks (id, agent_id, project_id, context_id, state, metadata, created_by)
      SELECT w.id, w."agentId", w."projectId", w."contextId", 'working', COALESCE(w.metadata, '{}'::jsonb), w."createdBy"
      FROM agent_create_rows w JOIN agent_create_read r ON r.id = w.id
      WHERE EXISTS (SELECT 1 FROM stored s WHERE s.message_id = w."messageId")
      ON CONFLICT (id) DO NOTHING
      RETURNING id
    ),
    agent_create_messages AS (
      INSERT INTO agent_messages (task_id, message_id, role, parts, llm)
      SELECT w.id, w."userMessage" ->> 'messageId', w."userMessage" ->> 'role', w."userMessage" -> 'parts', w."userMessage" -> 'llm'
      FROM agent_create_rows w JOIN agent_create_tasks t ON t.id = w.id
    ),
    agent_create_result AS (
      SELECT r."messageId" AS message_id, json_build_object('agent', r.agent, 'transcript', r.transcript) AS result
      FROM agent_create_read r JOIN agent_create_tasks t ON t.id = r.id
    )`
}
