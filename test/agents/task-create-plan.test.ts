import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SQL } from "bun"
import { createRow, createWrite } from "../../src/agents/TaskCreateWrite.ts"
import { requestWritesStatement } from "../../src/cluster/MessageStorageStatements.ts"
import { composeRequestWrites } from "../../src/cluster/RequestWrites.ts"
import { planDatabase, rolledBack } from "../support/planDatabase.ts"
import { sequentialScans } from "../support/queryPlans.ts"

/**
 * The statement that stores a group of `Execute` requests with their tasks
 * (TaskCreateWrite.ts through BatchedMessageStorage) on PostgreSQL 15, as a prepared statement:
 * after its first custom plans PostgreSQL keeps one generic plan (no planning per call: filtered
 * on what it stored before reading the agent and the conversation, it was planned anew on every
 * call, 0.6 ms of the database's time per statement here), and neither plan reads a table by
 * sequential scan, on a new database or with many agents, tasks and messages.
 */
let database: Awaited<ReturnType<typeof planDatabase>> | undefined
let admin: SQL

const AGENT = "plan_agent_0"
const PROJECT = "plan_project"
const TYPES = "bigint[], varchar[], varchar[], varchar[], varchar[], varchar[], text[], text[], varchar[], varchar[], boolean[], bigint[], jsonb"

const row = (n: number) => ({
  write: {
    kind: createWrite,
    row: createRow(`plan_new_${n}`, AGENT, {
      projectId: PROJECT,
      contextId: "plan_ctx_7",
      createdBy: null,
      messageId: `m${n}`,
      parts: [{ kind: "text", text: "x" }]
    })
  },
  messageId: `Agent/${AGENT}/Execute/plan_new_${n}`
})
const composed = composeRequestWrites([row(1)], 13)

/** The statement's parameters as SQL literals: one request with its task (a lone caller's group), its id from `n`. */
const values = (n: number) => [
  `ARRAY[${n}0001]::bigint[]`, `ARRAY['${row(1).messageId}']`, "ARRAY['1']", "ARRAY['Agent']", `ARRAY['${AGENT}']`,
  "ARRAY['Execute']", "ARRAY['{}']", "ARRAY['{}']", "ARRAY[NULL]::varchar[]", "ARRAY[NULL]::varchar[]",
  "ARRAY[NULL]::boolean[]", "ARRAY[NULL]::bigint[]", `'${composed.parameters[0]}'::jsonb`
].join(", ")

/** Sequential scans of the custom and the generic plan, and whether auto mode went generic, in a rolled-back transaction after `seed`. */
const plansAfter = (seed: string) =>
  rolledBack(admin, async (reserved) => {
    await reserved.unsafe(seed)
    await reserved.unsafe(`PREPARE plan_create(${TYPES}) AS ${requestWritesStatement("cluster_messages", composed)}`)
    const scans: Record<string, Array<string>> = {}
    for (const mode of ["force_custom_plan", "force_generic_plan"]) {
      await reserved.unsafe(`SET LOCAL plan_cache_mode = ${mode}`)
      const [{ "QUERY PLAN": plan }] = await reserved.unsafe(`EXPLAIN (FORMAT JSON) EXECUTE plan_create(${values(1)})`)
      scans[mode] = sequentialScans(plan)
    }
    // Auto mode, as the platform runs it: 8 calls, the first five custom plans, then generic if it judges it no worse.
    const genericPlans = async () =>
      (await reserved.unsafe("SELECT generic_plans::int AS n FROM pg_prepared_statements WHERE name = 'plan_create'"))[0].n as number
    const before = await genericPlans()
    await reserved.unsafe("SET LOCAL plan_cache_mode = auto")
    for (let i = 2; i <= 9; i++) await reserved.unsafe(`EXPLAIN (FORMAT JSON) EXECUTE plan_create(${values(i)})`)
    return { scans, generic: (await genericPlans()) - before }
  })

beforeAll(async () => {
  database = await planDatabase("task_create_plan", { project: PROJECT, agent: AGENT })
  admin = database.admin
}, 120_000)

afterAll(async () => {
  await database?.close()
})

describe("the Execute-with-task statement's plans (PostgreSQL 15)", () => {
  test("a new database: one generic plan after the first calls, no sequential scan", async () => {
    const plans = await plansAfter("SELECT 1")
    expect(plans.scans).toEqual({ force_custom_plan: [], force_generic_plan: [] })
    expect(plans.generic).toBeGreaterThanOrEqual(3)
  })

  test("5,000 agents and 20,000 tasks of two messages, no statistics: still by index, still generic", async () => {
    const plans = await plansAfter(`
      INSERT INTO agents (id, project_id, name, slug, provider, model)
        SELECT 'plan_agent_' || i, '${PROJECT}', 'Plan ' || i, 'plan-' || i, 'local', 'local' FROM generate_series(1, 5000) AS i;
      INSERT INTO agent_tasks (id, agent_id, project_id, context_id, state)
        SELECT 'plan_' || i, '${AGENT}', '${PROJECT}', 'plan_ctx_' || (i % 5000), 'completed' FROM generate_series(1, 20000) AS i;
      INSERT INTO agent_messages (task_id, message_id, role, llm)
        SELECT 'plan_' || i, 'plan_msg_' || i || '_' || j, 'user', '{"role":"user","content":"x"}'::jsonb
        FROM generate_series(1, 20000) AS i, generate_series(1, 2) AS j`)
    expect(plans.scans).toEqual({ force_custom_plan: [], force_generic_plan: [] })
    expect(plans.generic).toBeGreaterThanOrEqual(3)
  })
})
