import type { Agent } from "../domain/Agent.ts"

const securitySchemes = {
  bearer: { httpAuthSecurityScheme: { scheme: "Bearer", bearerFormat: "JWT", description: "Platform JWT or API key" } }
}
const securityRequirements = [{ schemes: { bearer: { list: [] } } }]

const interfaces = (url: string) => [
  { url, protocolBinding: "JSONRPC", protocolVersion: "1.0" },
  { url, protocolBinding: "JSONRPC", protocolVersion: "0.3" }
]

/**
 * A2A v1.0 agent card (`supportedInterfaces`) that also carries the v0.3
 * top-level `url` / `protocolVersion` / `preferredTransport`, so clients of
 * either version find the JSON-RPC endpoint.
 */
export const agentCard = (agent: Agent, baseUrl: string) => {
  const url = `${baseUrl}/agents/${agent.id}/a2a`
  return {
    name: agent.name,
    description: agent.description || `Agent ${agent.name}`,
    version: "1.0.0",
    supportedInterfaces: interfaces(url),
    provider: { organization: "Agent Platform", url: baseUrl },
    capabilities: { streaming: true, pushNotifications: true, extendedAgentCard: true },
    securitySchemes,
    securityRequirements,
    defaultInputModes: ["text/plain", "application/json"],
    defaultOutputModes: ["text/plain"],
    skills: [
      ...agent.skills.map((s) => ({
        id: s.id,
        name: s.name,
        description: s.description,
        tags: s.tags,
        examples: s.examples,
        inputModes: ["text/plain"],
        outputModes: ["text/plain"]
      })),
      ...agent.tools.map((t) => ({
        id: `tool-${t}`,
        name: t,
        description: `Uses the ${t} tool`,
        tags: ["tool"],
        examples: [],
        inputModes: ["text/plain"],
        outputModes: ["text/plain"]
      }))
    ],
    url,
    protocolVersion: "0.3.0",
    preferredTransport: "JSONRPC"
  }
}

/** The platform's own card: one JSON-RPC endpoint for every agent (agentId in the message metadata). */
export const platformCard = (baseUrl: string) => {
  const url = `${baseUrl}/a2a`
  return {
    name: "Agent Platform",
    description: "Runs AI agents as sharded entities. Address an agent with metadata.agentId, or use its own card at /agents/{id}/.well-known/agent-card.json.",
    version: "1.0.0",
    supportedInterfaces: interfaces(url),
    provider: { organization: "Agent Platform", url: baseUrl },
    capabilities: { streaming: true, pushNotifications: true, extendedAgentCard: true },
    securitySchemes,
    securityRequirements,
    defaultInputModes: ["text/plain", "application/json"],
    defaultOutputModes: ["text/plain"],
    skills: [{
      id: "route-to-agent",
      name: "Agents",
      description: "Send a message to one of your agents (metadata.agentId)",
      tags: ["agents"],
      examples: [],
      inputModes: ["text/plain"],
      outputModes: ["text/plain"]
    }],
    url,
    protocolVersion: "0.3.0",
    preferredTransport: "JSONRPC"
  }
}
