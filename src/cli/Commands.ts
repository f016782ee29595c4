import { readFileSync } from "node:fs"
import { basename, extname } from "node:path"
import { createPlatformClient, login, type PlatformPromiseClient } from "../client/index.ts"
import { type Args, flag, hasFlag, required, UsageError } from "./Args.ts"
import { configPath, readConfig, resolveSettings, writeConfig } from "./Config.ts"

export interface Io {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  /** Lines typed by the user (chat turns, a password). */
  readonly lines: () => AsyncIterable<string>
  readonly env: NodeJS.ProcessEnv
}

const json = (io: Io, value: unknown) => io.out(JSON.stringify(value, null, 2) + "\n")

const settingsOf = (args: Args, io: Io) => resolveSettings({ url: flag(args, "url"), project: flag(args, "project") }, io.env)

/** A connected Promise client, closed when `f` settles. */
export const withClient = async <A>(args: Args, io: Io, f: (client: PlatformPromiseClient, projectId: string | undefined) => Promise<A>) => {
  const settings = settingsOf(args, io)
  if (settings.token === undefined) throw new UsageError("not logged in: run `cli login` or set AGENT_PLATFORM_TOKEN")
  const client = createPlatformClient({ baseUrl: settings.baseUrl, token: settings.token })
  try {
    return await f(client, settings.projectId)
  } finally {
    await client.close()
  }
}

const projectOf = (projectId: string | undefined) => required(projectId, "--project (or log in, or set AGENT_PLATFORM_PROJECT)")

const firstLine = async (io: Io) => {
  for await (const line of io.lines()) return line
  return undefined
}

export const loginCommand = async (args: Args, io: Io) => {
  const baseUrl = settingsOf(args, io).baseUrl
  const email = required(flag(args, "email") ?? io.env.AGENT_PLATFORM_EMAIL, "--email")
  const password = flag(args, "password") ?? io.env.AGENT_PLATFORM_PASSWORD ?? (io.err("password: "), await firstLine(io))
  const tokens = await login(baseUrl, email, required(password, "password"))
  const client = createPlatformClient({ baseUrl, token: tokens.accessToken })
  const projects = await client.projects.list().finally(() => client.close())
  const projectId = flag(args, "project") ?? projects.find((p) => p.role === "admin")?.id ?? projects[0]?.id
  writeConfig({ baseUrl, token: tokens.accessToken, email, ...(projectId ? { projectId } : {}) }, configPath(io.env))
  io.out(`logged in as ${tokens.user.email} on ${baseUrl}${projectId ? ` (project ${projectId})` : ""}\n`)
}

export const projectsCommand = (args: Args, io: Io) =>
  withClient(args, io, async (client) => {
    const current = readConfig(configPath(io.env)).projectId
    for (const p of await client.projects.list()) io.out(`${p.id === current ? "*" : " "} ${p.id}  ${p.role.padEnd(9)} ${p.name}\n`)
  })

/** Streams one turn: text deltas as they arrive, the final state on stderr; returns the context to continue. */
const chatTurn = async (client: PlatformPromiseClient, io: Io, agentId: string, text: string, contextId: string | undefined) => {
  let context = contextId
  let streamed = false
  let final = ""
  for await (const event of client.tasks.stream({ agentId, text, ...(context ? { contextId: context } : {}) })) {
    if (event._tag === "Snapshot") context = event.task.contextId
    if (event._tag === "Delta") {
      io.out(event.text)
      streamed = true
    }
    if (event._tag === "Tool" && event.phase === "started") io.err(`[tool ${event.name}]\n`)
    if (event._tag === "Status" && event.final) {
      final = event.status.state
      const reply = event.status.message?.parts.map((p) => (p.kind === "text" ? p.text : "")).join("") ?? ""
      if (!streamed) io.out(reply)
    }
  }
  io.out("\n")
  if (final !== "completed") io.err(`task ended ${final}\n`)
  return context
}

export const agentsCommand = (args: Args, io: Io) => {
  const [, sub, ...rest] = args.positionals
  return withClient(args, io, async (client, projectId) => {
    switch (sub) {
      case "list":
        for (const a of await client.agents.list(projectId ? { projectId } : {})) io.out(`${a.id}  ${a.provider}/${a.model}  ${a.name}\n`)
        return
      case "get":
        return json(io, await client.agents.get({ id: required(rest[0], "agent id") }))
      case "create": {
        const agent = await client.agents.create({
          projectId: projectOf(projectId),
          name: required(flag(args, "name"), "--name"),
          ...(flag(args, "prompt") ? { systemPrompt: flag(args, "prompt") } : {}),
          ...(flag(args, "provider") ? { provider: flag(args, "provider") as "local" } : {}),
          ...(flag(args, "model") ? { model: flag(args, "model") } : {}),
          ...(flag(args, "tools") ? { tools: flag(args, "tools")!.split(",") } : {})
        })
        return hasFlag(args, "json") ? json(io, agent) : io.out(`${agent.id}\n`)
      }
      case "delete":
        await client.agents.delete({ id: required(rest[0], "agent id") })
        return io.out("deleted\n")
      case "chat": {
        const agentId = required(rest[0], "agent id")
        const message = rest.slice(1).join(" ")
        if (message.length > 0) return void (await chatTurn(client, io, agentId, message, flag(args, "context")))
        // No message: one turn per input line, in one conversation.
        let context = flag(args, "context")
        for await (const line of io.lines()) if (line.trim().length > 0) context = await chatTurn(client, io, agentId, line, context)
        return
      }
      default:
        throw new UsageError(`unknown agents command ${sub ?? ""}`)
    }
  })
}

const bar = (done: number, total: number, width = 30) => {
  const filled = total === 0 ? 0 : Math.round((done / total) * width)
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`
}

const CONTENT_TYPES: Record<string, string> = {
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".html": "text/html",
  ".htm": "text/html",
  ".pdf": "application/pdf",
  ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
}

export const ragCommand = (args: Args, io: Io) => {
  const [, sub, ...rest] = args.positionals
  return withClient(args, io, async (client, projectId) => {
    switch (sub) {
      case "upload": {
        const path = required(rest[0], "file")
        const doc = await client.documents.upload({
          projectId: projectOf(projectId),
          filename: basename(path),
          content: new Blob([readFileSync(path)], { type: CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream" }),
          onProgress: (p) => io.err(`\r${bar(p.chunksEmbedded, p.chunkCount)} ${p.chunksEmbedded}/${p.chunkCount} chunks ${p.status}   `)
        })
        io.err("\n")
        if (doc.status === "failed") throw new Error(`ingestion of ${doc.id} failed`)
        return io.out(`${doc.id} ${doc.status} (${doc.chunkCount} chunks${doc.deduplicated ? ", already uploaded" : ""})\n`)
      }
      case "query": {
        const k = flag(args, "k")
        const result = await client.rag.query({
          projectId: projectOf(projectId),
          query: required(rest.join(" "), "query text"),
          ...(k ? { k: Number(k) } : {})
        })
        if (hasFlag(args, "json")) return json(io, result)
        for (const hit of result.hits) io.out(`${hit.score.toFixed(4)}  ${hit.filename}#${hit.chunkIndex}  ${hit.content.replace(/\s+/g, " ").slice(0, 200)}\n`)
        return
      }
      case "list":
        for (const d of await client.rag.listDocuments(projectId ? { projectId } : {})) io.out(`${d.id}  ${d.status.padEnd(10)} ${d.filename}\n`)
        return
      case "status":
        return json(io, await client.rag.getDocument({ id: required(rest[0], "document id") }))
      default:
        throw new UsageError(`unknown rag command ${sub ?? ""}`)
    }
  })
}
