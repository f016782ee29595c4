import type { Agent } from "../domain/Agent.ts"

/** What an agent offers and where to reach it: `GET /agents/{id}/capabilities` and the A2A extension of its card. */
export const capabilitiesOf = (agent: Agent) => ({
  agentId: agent.id,
  name: agent.name,
  description: agent.description,
  capabilities: [
    ...agent.skills.map((s) => ({
      name: s.id,
      description: s.description,
      input_schema: { type: "object", properties: { task: { type: "string" } }, required: ["task"] },
      output_schema: { type: "object", properties: { output: { type: "string" } } }
    })),
    ...agent.tools.map((t) => ({
      name: `tool:${t}`,
      description: `May call the ${t} tool`,
      input_schema: { type: "object" },
      output_schema: { type: "object" }
    }))
  ],
  skills: agent.skills,
  tools: agent.tools,
  endpoints: {
    execute: `/agents/${agent.id}/execute`,
    a2a: `/agents/${agent.id}/a2a`,
    agentCard: `/agents/${agent.id}/.well-known/agent-card.json`,
    capabilities: `/agents/${agent.id}/capabilities`
  },
  health_url: "/health"
})
