import { type AgentCard, Role } from "@a2a-js/sdk"
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryTaskStore,
  type RequestContext
} from "@a2a-js/sdk/server"
import { agentCardHandler, jsonRpcHandler, UserBuilder } from "@a2a-js/sdk/server/express"
import express from "express"
import type { AddressInfo } from "node:net"

export interface Received {
  readonly messageId: string
  readonly text: string
  readonly metadata: Record<string, unknown>
}

export interface RemoteAgentOptions {
  readonly name: string
  readonly description?: string
  readonly skills?: ReadonlyArray<{ id: string; name: string; description: string; tags: Array<string> }>
  /** The agent's reply to one message (default: an echo). */
  readonly reply?: (message: Received) => Promise<string> | string
}

const textOf = (parts: ReadonlyArray<{ content?: { $case: string; value: unknown } }>) =>
  parts.map((p) => (p.content?.$case === "text" ? String(p.content.value) : "")).join("")

/**
 * A remote A2A v1.0 agent played by the @a2a-js/sdk express server (the
 * reference implementation): card at /.well-known/agent-card.json, JSON-RPC
 * at /a2a. `received` logs every message it got; `effects` counts distinct
 * message ids, i.e. what an idempotent receiver would have done.
 */
export const startRemoteAgent = async (options: RemoteAgentOptions) => {
  const app = express()
  const server = app.listen(0, "127.0.0.1")
  await new Promise<void>((resolve) => server.once("listening", () => resolve()))
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const received: Array<Received> = []
  const effects = new Set<string>()

  const card: AgentCard = {
    name: options.name,
    description: options.description ?? `${options.name} (test agent)`,
    version: "1.0.0",
    supportedInterfaces: [{ url: `${baseUrl}/a2a`, protocolBinding: "JSONRPC", protocolVersion: "1.0", tenant: "" }],
    provider: { organization: "tests", url: baseUrl },
    capabilities: { streaming: false, pushNotifications: false, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ["text/plain"],
    defaultOutputModes: ["text/plain"],
    skills: (options.skills ?? []).map((s) => ({
      ...s,
      examples: [],
      inputModes: [],
      outputModes: [],
      securityRequirements: []
    })),
    signatures: []
  }

  const executor: AgentExecutor = {
    execute: async (ctx: RequestContext, bus: ExecutionEventBus) => {
      const message: Received = {
        messageId: ctx.userMessage.messageId,
        text: textOf(ctx.userMessage.parts),
        metadata: ctx.userMessage.metadata ?? {}
      }
      received.push(message)
      const text = options.reply ? await options.reply(message) : `${options.name}: ${message.text}`
      effects.add(message.messageId)
      bus.publish(AgentEvent.message({
        messageId: crypto.randomUUID(),
        contextId: ctx.contextId,
        taskId: "",
        role: Role.ROLE_AGENT,
        parts: [{ content: { $case: "text", value: text }, metadata: undefined, filename: "", mediaType: "text/plain" }],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: []
      }))
      bus.finished()
    },
    cancelTask: async () => {}
  }
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor)
  app.use("/.well-known/agent-card.json", agentCardHandler({ agentCardProvider: handler }))
  // The W3C trace context each JSON-RPC request came with (absent: undefined).
  const traceparents: Array<string | undefined> = []
  app.use("/a2a", (req, _res, next) => {
    traceparents.push(req.header("traceparent"))
    next()
  })
  app.use("/a2a", express.json(), jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }))

  return {
    baseUrl,
    cardUrl: `${baseUrl}/.well-known/agent-card.json`,
    received,
    effects,
    traceparents,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

export type RemoteAgent = Awaited<ReturnType<typeof startRemoteAgent>>

/** A URL on which nothing listens (a port that was bound then released). */
export const deadUrl = async () => {
  const server = express().listen(0, "127.0.0.1")
  await new Promise<void>((resolve) => server.once("listening", () => resolve()))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}
