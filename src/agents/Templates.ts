import type { AgentTemplate } from "../domain/Agent.ts"

/**
 * Starting points for new agents. They default to the `local` provider so an
 * agent made from a template answers even with no API keys configured.
 */
export const AGENT_TEMPLATES: ReadonlyArray<AgentTemplate> = [
  {
    id: "assistant",
    name: "General assistant",
    description: "Answers questions and follows instructions.",
    provider: "local",
    model: "local",
    systemPrompt: "You are a helpful, concise assistant.",
    tools: [],
    skills: [{ id: "chat", name: "Chat", description: "General question answering", tags: ["chat"], examples: ["What is A2A?"] }]
  },
  {
    id: "researcher",
    name: "Researcher",
    description: "Searches the project's documents and cites them.",
    provider: "local",
    model: "local",
    systemPrompt: "You research questions using the available search tools and cite your sources.",
    tools: ["rag_search"],
    skills: [{ id: "research", name: "Research", description: "Answer from the knowledge base with citations", tags: ["rag"], examples: ["Summarise our onboarding guide"] }]
  },
  {
    id: "sql-analyst",
    name: "SQL analyst",
    description: "Answers data questions by running read-only SQL.",
    provider: "local",
    model: "local",
    systemPrompt: "You answer data questions by writing read-only SQL and explaining the results.",
    tools: ["sql_query"],
    skills: [{ id: "sql", name: "SQL analysis", description: "Query databases and explain results", tags: ["sql", "data"], examples: ["How many orders last week?"] }]
  },
  {
    id: "echo",
    name: "Echo",
    description: "Repeats what it is told; for wiring and load tests.",
    provider: "local",
    model: "local",
    systemPrompt: "",
    tools: [],
    skills: [{ id: "echo", name: "Echo", description: "Echoes the input", tags: ["test"], examples: ["hello"] }]
  }
]
