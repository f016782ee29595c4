import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { signUp, type SignedUp } from "../support/auth.ts"
import { startPlatform, type TestPlatform } from "../support/platform.ts"
import { waitFor } from "../support/process.ts"
import { makeTempDir } from "../support/tempDir.ts"

let platform: TestPlatform
let user: SignedUp
let home: ReturnType<typeof makeTempDir>
const PASSWORD = "correct-horse-battery-9"

beforeAll(async () => {
  platform = await startPlatform()
  user = await signUp(platform.baseUrl, { password: PASSWORD })
  home = makeTempDir("cli")
}, 90_000)
afterAll(async () => {
  await platform.stop()
  home.remove()
}, 30_000)

/** The CLI as a user runs it: a subprocess, base URL from the environment, the login file in a temp dir. */
const cli = async (args: ReadonlyArray<string>, stdin?: string) => {
  const proc = Bun.spawn(["bun", "run", "src/cli/main.ts", ...args], {
    cwd: join(import.meta.dir, "../.."),
    env: { ...process.env, AGENT_PLATFORM_URL: platform.baseUrl, AGENT_PLATFORM_CONFIG: join(home.dir, "config.json"), AGENT_PLATFORM_TOKEN: "" },
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe"
  })
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  return { stdout, stderr, code }
}

describe("CLI (subprocess) over the typed client", () => {
  test("--help lists the commands", async () => {
    const { stdout, code } = await cli(["--help"])
    expect(code).toBe(0)
    for (const command of ["login", "projects", "agents chat", "rag upload", "rag query", "workflows run", "workflows approve", "events", "traces"]) {
      expect(stdout).toContain(command)
    }
  })

  test("login → agent create → chat (streamed) → RAG upload + query → workflow run, approve and status", async () => {
    const login = await cli(["login", "--email", user.email], `${PASSWORD}\n`)
    expect(login.code, login.stderr).toBe(0)
    expect(login.stdout).toContain(`logged in as ${user.email}`)
    expect(statSync(join(home.dir, "config.json")).mode & 0o777).toBe(0o600)

    const projects = await cli(["projects"])
    expect(projects.stdout).toContain(`* ${user.projectId}`)

    const created = await cli(["agents", "create", "--name", "cli-helper"])
    expect(created.code, created.stderr).toBe(0)
    const agentId = created.stdout.trim()
    expect((await cli(["agents", "list"])).stdout).toContain(agentId)

    const chat = await cli(["agents", "chat", agentId, "hello from the terminal"])
    expect(chat.code, chat.stderr).toBe(0)
    expect(chat.stdout).toContain("hello from the terminal")
    // Without a message, each input line is a turn of one conversation.
    const turns = await cli(["agents", "chat", agentId], "first line\nsecond line\n")
    expect(turns.stdout).toContain("first line")
    expect(turns.stdout).toContain("second line")

    const file = join(home.dir, "faq.txt")
    writeFileSync(file, "Parcels ship from the Rotterdam warehouse every Tuesday.\n\nThe office plant is watered on Fridays.\n")
    const upload = await cli(["rag", "upload", file])
    expect(upload.code, upload.stderr).toBe(0)
    expect(upload.stdout).toContain("ready")
    expect(upload.stderr).toContain("chunks")
    const query = await cli(["rag", "query", "which", "warehouse", "ships", "parcels?", "--k", "1"])
    expect(query.stdout).toContain("Rotterdam")

    const definition = JSON.stringify({
      steps: [{ id: "gate", type: "approval", message: "go?" }, { id: "ask", type: "agent", agentId, input: "{{input.q}}" }],
      output: "{{steps.ask.output.text}}"
    })
    const workflow = await cli(["workflows", "create", "--name", "gated", "--definition", definition])
    expect(workflow.code, workflow.stderr).toBe(0)
    const workflowId = workflow.stdout.trim()
    const run = await cli(["workflows", "run", workflowId, "--input", JSON.stringify({ q: "ship it" }), "--wait"])
    expect(run.code, run.stderr).toBe(0)
    const [runId, status] = run.stdout.trim().split(/\s+/)
    expect(status).toBe("waiting")
    const approve = await cli(["workflows", "approve", runId, "--comment", "fine"])
    expect(approve.stdout).toContain(`${runId} approved`)
    const done = await cli(["workflows", "status", runId, "--wait"])
    expect(done.stdout).toContain(`${runId} completed`)
    expect(done.stdout).toContain("ship it")
  }, 120_000)

  test("events are tailed from /ws/events; traces of the project are listed", async () => {
    const agentId = (await cli(["agents", "create", "--name", "watched"])).stdout.trim()
    const tail = Bun.spawn(["bun", "run", "src/cli/main.ts", "events", "--topics", `agents/${agentId}/`, "--limit", "1"], {
      cwd: join(import.meta.dir, "../.."),
      env: { ...process.env, AGENT_PLATFORM_URL: platform.baseUrl, AGENT_PLATFORM_CONFIG: join(home.dir, "config.json"), AGENT_PLATFORM_TOKEN: "" },
      stdout: "pipe",
      stderr: "pipe"
    })
    // Wait for the subscription before causing the event.
    const reader = tail.stderr.getReader()
    let stderr = ""
    while (!stderr.includes("subscribed")) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`events ended early: ${stderr}`)
      stderr += new TextDecoder().decode(value)
    }
    expect((await cli(["agents", "chat", agentId, "ping"])).code).toBe(0)
    expect(await tail.exited).toBe(0)
    const event = JSON.parse((await new Response(tail.stdout).text()).trim().split("\n")[0]) as { topic: string; type: string }
    expect(event.topic.startsWith(`agents/${agentId}/tasks/`)).toBe(true)
    expect(event.type.startsWith("task.")).toBe(true)

    // A refused request under /projects/<id>/ is always traced and belongs to that project.
    const refused = await fetch(`${platform.baseUrl}/projects/${user.projectId}/members`, {
      method: "POST",
      headers: { ...user.headers, "content-type": "application/json" },
      body: "{}"
    })
    expect(refused.status).toBe(400)
    let list = { spans: [] as Array<{ traceId: string }>, count: 0 }
    await waitFor(async () => {
      const traces = await cli(["traces", "--limit", "50"])
      expect(traces.code, traces.stderr).toBe(0)
      list = JSON.parse(traces.stdout)
      return list.count > 0
    }, 20_000)
    const one = await cli(["traces", list.spans[0].traceId])
    expect(JSON.parse(one.stdout).spans.map((s: { traceId: string }) => s.traceId)).toContain(list.spans[0].traceId)
  }, 60_000)

  test("errors carry their tag; a missing login says how to log in", async () => {
    const missing = await cli(["agents", "get", "agt_missing"])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("NotFound: agent not found")
    const proc = Bun.spawn(["bun", "run", "src/cli/main.ts", "agents", "list"], {
      cwd: join(import.meta.dir, "../.."),
      env: { ...process.env, AGENT_PLATFORM_URL: platform.baseUrl, AGENT_PLATFORM_CONFIG: join(home.dir, "none.json"), AGENT_PLATFORM_TOKEN: "" },
      stderr: "pipe"
    })
    expect(await proc.exited).toBe(2)
    expect(await new Response(proc.stderr).text()).toContain("not logged in")
    // A token the platform refuses is Unauthorized, not a hang.
    const refused = Bun.spawn(["bun", "run", "src/cli/main.ts", "agents", "list"], {
      cwd: join(import.meta.dir, "../.."),
      env: { ...process.env, AGENT_PLATFORM_URL: platform.baseUrl, AGENT_PLATFORM_CONFIG: join(home.dir, "none.json"), AGENT_PLATFORM_TOKEN: "not-a-token" },
      stderr: "pipe"
    })
    expect(await refused.exited).toBe(1)
    expect(await new Response(refused.stderr).text()).toContain("Unauthorized")
  }, 30_000)
})
