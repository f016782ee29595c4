import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SQL } from "bun"
import { finishRow, finishWrite } from "../../src/agents/TaskFinishWrite.ts"
import { exitGroupStatement, exitRows } from "../../src/cluster/MessageStorageStatements.ts"
import { composeWrites } from "../../src/cluster/ReplyWrites.ts"
import { deliveredWrite } from "../../src/orchestrator/DeliveredWrite.ts"
import { planDatabase, rolledBack } from "../support/planDatabase.ts"
import { planNodes } from "../support/queryPlans.ts"

/**
 * The statement that stores a group of replies with the handlers' writes attached to them
 * (a task's end, TaskFinishWrite.ts; a delivery's end, orchestrator/DeliveredWrite.ts) on
 * PostgreSQL 15, prepared as the platform runs it: neither the custom nor the generic plan
 * reads a table by sequential scan, on a new database or with 20,000 tasks and deliveries.
 * The rows come as JSON (100 rows assumed): joined to the table they update, a table whose
 * statistics said it was small was planned as a hash join over a sequential scan, and the
 * prepared plan kept it while the table grew (a blocking A2A send's reply statement: 1.2 ms
 * on a new database, 2.0 ms after 4,000 tasks on PostgreSQL 15, 2.7 ms on the embedded one;
 * issue #19).
 */
let database: Awaited<ReturnType<typeof planDatabase>> | undefined
let admin: SQL

const PROJECT = "plan_project"
const AGENT = "plan_agent"

const finished = (taskId: string) => {
  const at = new Date("2026-12-01T00:00:00Z")
  return finishRow({
    taskId,
    state: "completed",
    statusMessage: { messageId: `${taskId}_reply`, role: "agent", parts: [{ kind: "text", text: "echo" }] },
    messages: [{ messageId: `${taskId}_reply`, role: "agent", parts: [{ kind: "text", text: "echo" }], llm: { role: "assistant", content: "echo", toolCalls: [] } }],
    artifacts: [],
    run: {
      id: `${taskId}_run`,
      taskId,
      agentId: AGENT,
      projectId: PROJECT,
      requestedProvider: "local",
      provider: "local",
      model: "echo",
      status: "completed",
      steps: 1,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      error: null,
      startedAt: at,
      durationMs: 1
    }
  }, at)
}

const writes = composeWrites([
  { kind: finishWrite, row: finished("plan_task_7"), after: undefined },
  { kind: deliveredWrite, row: { id: "plan_delivery_7", reply: { text: "ok" } as never, count_attempt: true }, after: undefined }
], 2)
const statement = exitGroupStatement("cluster_messages", "cluster_replies", writes.ctes)
const params = [
  `'${exitRows([{ id: "91", requestId: "90", payload: "{}" }])}'::jsonb`,
  ...writes.parameters.map((p) => `'${String(p).replaceAll("'", "''")}'::jsonb`)
].join(", ")

/**
 * How each plan reaches the tables the writes change (sequential scan, or which index), in a
 * rolled-back transaction after `seed`. Only their primary keys are the right way: any other
 * path reads a share of the table that grows with it.
 */
const scansAfter = (seed: string) =>
  rolledBack(admin, async (reserved) => {
    await reserved.unsafe(seed)
    await reserved.unsafe(`PREPARE plan_exits(jsonb, jsonb, jsonb) AS ${statement}`)
    const scans: Record<string, Array<string>> = {}
    for (const mode of ["force_custom_plan", "force_generic_plan"]) {
      await reserved.unsafe(`SET LOCAL plan_cache_mode = ${mode}`)
      const [{ "QUERY PLAN": plan }] = await reserved.unsafe(`EXPLAIN (FORMAT JSON) EXECUTE plan_exits(${params})`)
      scans[mode] = [...new Set(planNodes(plan)
        .filter((n) => n["Node Type"] !== "ModifyTable")
        .filter((n) => n["Relation Name"] === "agent_tasks" || n["Relation Name"] === "orchestrator_deliveries" || n["Node Type"] === "Seq Scan")
        .map((n) => `${n["Relation Name"]}: ${n["Index Name"] ?? n["Node Type"]}`))].sort()
    }
    // And it still writes what it wrote: the task ended, its reply message and run stored, the delivery delivered.
    await reserved.unsafe(`EXECUTE plan_exits(${params})`)
    const [row] = await reserved.unsafe(`
      SELECT (SELECT state FROM agent_tasks WHERE id = 'plan_task_7') AS task,
             (SELECT count(*)::int FROM agent_messages WHERE task_id = 'plan_task_7') AS messages,
             (SELECT count(*)::int FROM agent_runs WHERE task_id = 'plan_task_7') AS runs,
             (SELECT status FROM orchestrator_deliveries WHERE id = 'plan_delivery_7') AS delivery`)
    return { scans, written: row }
  })

const target = `
  INSERT INTO agent_tasks (id, agent_id, project_id, context_id, state) VALUES ('plan_task_7', '${AGENT}', '${PROJECT}', 'plan_ctx', 'working');
  INSERT INTO orchestrator_deliveries (id, project_id, idempotency_key, target_id, request, status, max_attempts)
    VALUES ('plan_delivery_7', '${PROJECT}', 'plan_key_7', '${AGENT}', '{}', 'pending', 3);`

const written = { task: "completed", messages: 1, runs: 1, delivery: "delivered" }
const byKey = ["agent_tasks: agent_tasks_pkey", "orchestrator_deliveries: orchestrator_deliveries_pkey"]

beforeAll(async () => {
  database = await planDatabase("reply_write_plans", { project: PROJECT, agent: AGENT })
  admin = database.admin
}, 120_000)

afterAll(async () => {
  await database?.close()
})

describe("the reply statement with a task's and a delivery's end (PostgreSQL 15)", () => {
  test("a new database: each table by its primary key, custom plan or generic", async () => {
    const plans = await scansAfter(target)
    expect(plans.scans).toEqual({ force_custom_plan: byKey, force_generic_plan: byKey })
    expect(plans.written).toEqual(written)
  })

  test("20,000 running tasks and 20,000 pending deliveries, no statistics: still by primary key", async () => {
    const plans = await scansAfter(`${target}
      INSERT INTO agent_tasks (id, agent_id, project_id, context_id, state)
        SELECT 'plan_' || i, '${AGENT}', '${PROJECT}', 'plan_ctx_' || i, 'working' FROM generate_series(1, 20000) AS i;
      INSERT INTO orchestrator_deliveries (id, project_id, idempotency_key, target_id, request, status, max_attempts)
        SELECT 'plan_d_' || i, '${PROJECT}', 'plan_k_' || i, '${AGENT}', '{}', 'pending', 3 FROM generate_series(1, 20000) AS i`)
    expect(plans.scans).toEqual({ force_custom_plan: byKey, force_generic_plan: byKey })
    expect(plans.written).toEqual(written)
  })
})
