import type { Agent } from "../domain/Agent.ts"

/**
 * Agent cards in each protocol version's own shape. A v1.0 client (it sends
 * `A2A-Version: 1.0`) gets a card strict protobuf-JSON parsers accept; a v0.3
 * client (`A2A-Version: 0.3`) a v0.3 card whose bearer scheme it understands;
 * a request naming no version gets the v1.0 card with v0.3's top-level
 * `url` / `protocolVersion` / `preferredTransport` added, so clients of either
 * version that do not negotiate still find the endpoint.
 */
export type CardVersion = "1.0" | "0.3" | "compat"

/** The A2A-Version a card request asked for (header), as the card shape to answer with. */
export const cardVersionOf = (requested: string | undefined): CardVersion => {
  const v = requested?.trim() ?? ""
  if (v === "") return "compat"
  if (/^0\.3(\.\d+)?$/.test(v)) return "0.3"
  return "1.0"
}

interface CardSkill {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly tags: ReadonlyArray<string>
  readonly examples: ReadonlyArray<string>
}

interface CardContent {
  readonly name: string
  readonly description: string
  readonly url: string
  readonly baseUrl: string
  readonly skills: ReadonlyArray<CardSkill>
}

const BEARER_DESCRIPTION = "Platform JWT or API key"

const render = (c: CardContent, version: CardVersion) => {
  const skills = c.skills.map((s) => ({ ...s, inputModes: ["text/plain"], outputModes: ["text/plain"] }))
  const common = {
    name: c.name,
    description: c.description,
    version: "1.0.0",
    provider: { organization: "Agent Platform", url: c.baseUrl },
    defaultInputModes: ["text/plain", "application/json"],
    defaultOutputModes: ["text/plain"],
    skills
  }
  if (version === "0.3") {
    return {
      ...common,
      protocolVersion: "0.3.0",
      url: c.url,
      preferredTransport: "JSONRPC",
      capabilities: { streaming: true, pushNotifications: true },
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: BEARER_DESCRIPTION } },
      security: [{ bearer: [] }],
      supportsAuthenticatedExtendedCard: true
    }
  }
  const v1 = {
    ...common,
    supportedInterfaces: [
      { url: c.url, protocolBinding: "JSONRPC", protocolVersion: "1.0" },
      { url: c.url, protocolBinding: "JSONRPC", protocolVersion: "0.3" }
    ],
    capabilities: { streaming: true, pushNotifications: true, extendedAgentCard: true },
    securitySchemes: { bearer: { httpAuthSecurityScheme: { scheme: "Bearer", bearerFormat: "JWT", description: BEARER_DESCRIPTION } } },
    securityRequirements: [{ schemes: { bearer: { list: [] } } }]
  }
  if (version === "1.0") return v1
  return {
    ...v1,
    // v0.3's top-level endpoint fields beside the v1.0 ones, for clients that send no A2A-Version
    // (the scheme stays one proto oneof: v1.0 parsers reject a second spelling inside it).
    url: c.url,
    protocolVersion: "0.3.0",
    preferredTransport: "JSONRPC"
  }
}

/** One agent's card: its own JSON-RPC endpoint. */
export const agentCard = (agent: Agent, baseUrl: string, version: CardVersion = "compat") =>
  render({
    name: agent.name,
    description: agent.description || `Agent ${agent.name}`,
    url: `${baseUrl}/agents/${agent.id}/a2a`,
    baseUrl,
    skills: [
      ...agent.skills.map((s) => ({ id: s.id, name: s.name, description: s.description, tags: s.tags, examples: s.examples })),
      ...agent.tools.map((t) => ({ id: `tool-${t}`, name: t, description: `Uses the ${t} tool`, tags: ["tool"], examples: [] }))
    ]
  }, version)

/**
 * The platform's own card: one JSON-RPC endpoint for every agent. A message
 * names its agent with metadata.agentId; without one it goes to the
 * deployment's default agent (A2A_DEFAULT_AGENT_ID), so the endpoint this card
 * names is callable by clients that only know the card.
 */
export const platformCard = (baseUrl: string, version: CardVersion = "compat") =>
  render({
    name: "Agent Platform",
    description:
      "Runs AI agents as sharded entities. Messages go to the deployment's default agent, or to the agent named by metadata.agentId; each agent also has its own card at /agents/{id}/.well-known/agent-card.json.",
    url: `${baseUrl}/a2a`,
    baseUrl,
    skills: [{
      id: "route-to-agent",
      name: "Agents",
      description: "Send a message to the default agent or to one of your agents (metadata.agentId)",
      tags: ["agents"],
      examples: []
    }]
  }, version)
