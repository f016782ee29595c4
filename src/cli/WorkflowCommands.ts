import { readFileSync } from "node:fs"
import type { PlatformPromiseClient } from "../client/index.ts"
import { type Args, flag, hasFlag, required, UsageError } from "./Args.ts"
import { type Io, withClient } from "./Commands.ts"

const TERMINAL = new Set(["completed", "failed", "cancelled"])

const jsonFlag = (args: Args, name: string) => {
  const text = flag(args, name)
  if (text === undefined) return undefined
  try {
    return JSON.parse(text.startsWith("@") ? readFileSync(text.slice(1), "utf8") : text) as unknown
  } catch (e) {
    throw new UsageError(`--${name} is not JSON: ${(e as Error).message}`)
  }
}

/** The run's line: status, then the output or the error once it ended. */
const printRun = (io: Io, run: { id: string; status: string; output: unknown; error: string | null }) => {
  io.out(`${run.id} ${run.status}\n`)
  if (run.status === "completed") io.out(`${typeof run.output === "string" ? run.output : JSON.stringify(run.output, null, 2)}\n`)
  if (run.error) io.err(`${run.error}\n`)
}

const waitForRun = async (client: PlatformPromiseClient, io: Io, runId: string) => {
  let last = ""
  while (true) {
    const run = await client.workflows.getRun({ runId })
    if (run.status !== last) io.err(`${run.status}\n`)
    last = run.status
    // A run waiting on an approval stops the wait: `workflows approve` answers it.
    if (TERMINAL.has(run.status) || run.status === "waiting") return run
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

export const workflowsCommand = (args: Args, io: Io) => {
  const [, sub, ...rest] = args.positionals
  return withClient(args, io, async (client, projectId) => {
    switch (sub) {
      case "list":
        for (const w of await client.workflows.list(projectId ? { projectId } : {})) io.out(`${w.id}  v${w.version}  ${w.name}\n`)
        return
      case "create": {
        const definition = required(flag(args, "definition"), "--definition (JSON, or @file.json)") && jsonFlag(args, "definition")
        const workflow = await client.workflows.create({
          projectId: required(projectId, "--project"),
          name: required(flag(args, "name"), "--name"),
          definition
        })
        return io.out(`${workflow.id}\n`)
      }
      case "run": {
        const input = jsonFlag(args, "input") as Record<string, unknown> | undefined
        const started = await client.workflows.run({ id: required(rest[0], "workflow id"), ...(input ? { input } : {}) })
        return printRun(io, hasFlag(args, "wait") ? await waitForRun(client, io, started.id) : started)
      }
      case "status": {
        const runId = required(rest[0], "run id")
        return printRun(io, hasFlag(args, "wait") ? await waitForRun(client, io, runId) : await client.workflows.getRun({ runId }))
      }
      case "runs":
        for (const r of await client.workflows.listRuns({ id: required(rest[0], "workflow id") })) io.out(`${r.id}  ${r.status.padEnd(10)} ${r.startedAt.toISOString()}\n`)
        return
      case "approve":
      case "reject": {
        const stepId = flag(args, "step")
        const comment = flag(args, "comment")
        const accepted = await client.workflows.approve({
          runId: required(rest[0], "run id"),
          approved: sub === "approve",
          ...(stepId ? { stepId } : {}),
          ...(comment ? { comment } : {})
        })
        return io.out(`${accepted.runId} ${accepted.approved ? "approved" : "rejected"}\n`)
      }
      case "cancel":
        return printRun(io, await client.workflows.cancel({ runId: required(rest[0], "run id") }))
      default:
        throw new UsageError(`unknown workflows command ${sub ?? ""}`)
    }
  })
}

export const eventsCommand = (args: Args, io: Io) =>
  withClient(args, io, async (client) => {
    const topics = flag(args, "topics")?.split(",") ?? []
    const limit = Number(flag(args, "limit") ?? Infinity)
    let seen = 0
    for await (const event of client.events(topics)) {
      // The socket's own frames: "subscribed" tells a watcher (or a test) that nothing published from now on is missed.
      if (event.type === "subscribed") io.err(`subscribed${topics.length > 0 ? ` to ${topics.join(",")}` : ""}\n`)
      if (event.type === "subscribed" || event.type === "pong") continue
      io.out(JSON.stringify(event) + "\n")
      if (++seen >= limit) return
    }
  })

export const tracesCommand = (args: Args, io: Io) =>
  withClient(args, io, async (client, projectId) => {
    const traceId = args.positionals[1]
    if (traceId !== undefined) return void io.out(JSON.stringify(await client.traces.get(traceId), null, 2) + "\n")
    const query: Record<string, string> = {}
    for (const name of ["service", "operation", "status", "limit"]) {
      const value = flag(args, name)
      if (value !== undefined) query[name] = value
    }
    if (projectId !== undefined && !hasFlag(args, "all")) query.projectId = projectId
    io.out(JSON.stringify(await client.traces.list(query), null, 2) + "\n")
  })
