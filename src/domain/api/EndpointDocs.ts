/**
 * Summary and description of every operation of `PlatformApi`, by operation id
 * (`group.endpoint`), with request examples where a body is not obvious. Kept
 * apart from the groups so the contracts stay readable and many hands can edit
 * them; `OpenApiDocs.ts` puts these into /openapi.json (and so into /docs), and
 * test/foundation/docs.test.ts fails when an operation has none.
 */
export interface EndpointDoc {
  readonly summary: string
  readonly description: string
  readonly example?: unknown
}

const P = "prj_…"

export const ENDPOINT_DOCS: Readonly<Record<string, EndpointDoc>> = {
  "health.health": { summary: "Liveness and readiness", description: "Database and cluster status of this node; 200 when both answer. No authentication." },
  "system.submitJob": { summary: "Submit a durable probe job", description: "Starts a `DurableJob` entity message (persisted: it survives a restart). Used to check the cluster end to end.", example: { jobId: "job-1", durationMs: 100 } },
  "system.getJob": { summary: "Read a probe job", description: "The job's state as recorded by its entity; 404 for another project's job." },

  "orchestrator.register": { summary: "Register an A2A agent card", description: "Fetches the agent card at `cardUrl` (through the egress policy) and adds the agent to the project's registry, with its skills indexed for semantic search.", example: { projectId: P, cardUrl: "https://agents.example.com/.well-known/agent-card.json" } },
  "orchestrator.listAgents": { summary: "List registered agents", description: "Registry entries of the caller's projects (or one project): card, skills, last refresh and its error." },
  "orchestrator.searchAgents": { summary: "Find agents by skill", description: "Semantic search over the registered agents' skills (`q`), best first, above `ORCHESTRATOR_SEMANTIC_THRESHOLD`." },
  "orchestrator.refreshAgent": { summary: "Re-fetch an agent card", description: "Fetches the registered card again now (it is also refreshed every `ORCHESTRATOR_CARD_REFRESH`)." },
  "orchestrator.unregister": { summary: "Remove a registered agent", description: "Drops the agent from the project's registry; deliveries already accepted still run." },
  "orchestrator.sendMessage": { summary: "Send a message to an agent (durable)", description: "Accepted as a persisted `Delivery`: retried with backoff up to `ORCHESTRATOR_MAX_ATTEMPTS`, then dead-lettered. The same `idempotencyKey` in a project is one delivery. Waits up to `ORCHESTRATOR_SYNC_WAIT` for the answer unless `async`. A project with `ORCHESTRATOR_MAX_PENDING_PER_PROJECT` deliveries pending gets 429 with `Retry-After`; nothing is stored.", example: { projectId: P, to: "researcher", text: "Summarise the refund policy", idempotencyKey: "order-42" } },
  "orchestrator.getDelivery": { summary: "Read a delivery", description: "State, attempts, last error and the answer of one delivery." },
  "orchestrator.listDeadLetters": { summary: "List dead letters", description: "Deliveries that gave up after their last attempt, newest first." },
  "orchestrator.delegate": { summary: "Delegate a task to the best agent", description: "Picks the registered agent whose skills best match the task (semantic search) and sends it the task; answers which agent took it and its reply." },
  "orchestrator.handoff": { summary: "Hand a conversation to another agent", description: "Passes the conversation so far to another agent, which continues it; hop count is bounded by `ORCHESTRATOR_MAX_HOPS`." },
  "orchestrator.fanOut": { summary: "Send one task to several agents", description: "Sends the task to every named agent at once and collects their answers (each a delivery of its own)." },
  "orchestrator.supervise": { summary: "Supervisor pattern", description: "A supervisor agent splits the task, workers answer the parts, the supervisor merges the answers." },

  "auth.register": { summary: "Create an account", description: "Creates a user (argon2id password) with a personal project it administers, and answers an access and a refresh token.", example: { email: "ada@example.com", password: "correct horse battery staple", displayName: "Ada" } },
  "auth.login": { summary: "Log in", description: "Email and password for an access token (JWT, `ACCESS_TOKEN_TTL_SECONDS`) and a rotating refresh token. Repeated failures lock the account or the client IP (429 with `Retry-After`).", example: { email: "ada@example.com", password: "correct horse battery staple" } },
  "auth.refresh": { summary: "Rotate a refresh token", description: "Trades a refresh token for a new pair. Presenting an already used refresh token revokes the whole session (reuse detection)." },
  "auth.me": { summary: "Who am I", description: "The caller: user, projects with roles, and whether it is a platform operator." },
  "auth.logout": { summary: "Log out", description: "Ends the session of the presented token; its refresh token stops working and open `/ws/events` sockets of it close." },
  "auth.setOperator": { summary: "Promote or demote a platform operator", description: "Operators only (403 otherwise): grants or removes the operator privilege of an account by email.", example: { email: "ops@example.com", operator: true } },

  "agents.list": { summary: "List agents", description: "Agents of the caller's projects, or of `projectId`, in creation order: at most `limit` (default 100, at most 500) after the agent `after` (pass the last id of the previous page for the next one)." },
  "agents.create": { summary: "Create an agent", description: "Creates an agent in a project (developer role). `templateId` starts from a template; explicit fields override it. Without provider keys the agent answers with the offline `local` model. The agent gets a `slug` unique in its project.", example: { projectId: P, name: "Support Bot", templateId: "researcher", tools: ["rag_search"] } },
  "agents.templates": { summary: "List agent templates", description: "Ready-made agents (prompt, tools, skills) to create from." },
  "agents.bySlug": { summary: "Get an agent by slug", description: "The agent whose slug (from its name at creation, unique in the project) is `slug`; 404 outside the caller's projects." },
  "agents.get": { summary: "Get an agent", description: "One agent by id; another project's agent is 404." },
  "agents.update": { summary: "Update an agent", description: "Changes the given fields (developer role). The slug stays as it was." },
  "agents.remove": { summary: "Delete an agent", description: "Deletes the agent (developer role); its task history goes with it." },
  "agents.execute": { summary: "Run an agent on a task", description: "Sends the task to the agent's entity. With `wait: true` (default) answers once the task ended, with its output and usage; with `wait: false` answers at once with the task id — read it later with `GET /agents/{id}/tasks/{taskId}`. `contextId` continues a conversation; `taskId` continues a task waiting for input.", example: { task: "Search the docs for the refund policy", wait: true } },
  "agents.capabilities": { summary: "An agent's capabilities", description: "What the agent can do: skills, tools with their input schemas, and its endpoints (REST, A2A)." },
  "agents.task": { summary: "Read a task of an agent", description: "One task: state, output (the agent's latest message as text), status, artifacts and history. How an asynchronous run (`wait: false`, A2A, `/ws/chat`) is read back over REST." },
  "agents.runs": { summary: "List an agent's runs", description: "The latest 100 executions: provider and model used, steps, tokens, cost and duration." },

  "projects.listProjects": { summary: "List my projects", description: "Projects the caller is a member of, with its role in each." },
  "projects.createProject": { summary: "Create a project", description: "A new project the caller administers.", example: { name: "Team A" } },
  "projects.getProject": { summary: "Get a project", description: "One project the caller is a member of." },
  "projects.listMembers": { summary: "List members", description: "Members of the project with their roles." },
  "projects.addMember": { summary: "Add a member", description: "Adds an existing account by email with a role (admin only).", example: { email: "bob@example.com", role: "developer" } },
  "projects.setMemberRole": { summary: "Change a member's role", description: "admin / developer / viewer (admin only); the last admin cannot be demoted." },
  "projects.removeMember": { summary: "Remove a member", description: "Removes the member (admin only); its open `/ws/events` sockets stop receiving the project's events." },
  "projects.createApiKey": { summary: "Create an API key", description: "A project credential with a role, shown once. Send it as `Authorization: Bearer <key>` or `x-api-key`.", example: { name: "ci", role: "developer" } },
  "projects.listApiKeys": { summary: "List API keys", description: "Keys of the project (prefix, role, last use), never their secret." },
  "projects.revokeApiKey": { summary: "Revoke an API key", description: "The key stops working at once on every node." },

  "observability.health": { summary: "Observability status", description: "Stored spans, alert rules and OTLP export status, counted over the caller's projects." },
  "observability.listTraces": { summary: "Search traces", description: "Stored spans filtered by service, operation, status, duration and time, of the caller's projects." },
  "observability.ingestTraces": { summary: "Ingest spans", description: "Stores spans sent by an external process (service token only)." },
  "observability.getTrace": { summary: "Get a trace", description: "Every stored span of one trace (waterfall), of the caller's projects." },
  "observability.a2aFlows": { summary: "Agent-to-agent flow graph", description: "Recorded A2A hops as a graph: counts, latency percentiles and errors per edge." },
  "observability.metrics": { summary: "Metrics (Prometheus text)", description: "The same exposition as `GET /metrics`, behind the API's authentication." },
  "observability.listAlerts": { summary: "List alert rules", description: "Rules of the caller's projects with their state (ok / firing), last value and last notification error." },
  "observability.createAlert": { summary: "Create an alert rule", description: "Watches a sample of /metrics (a known name, else 400) aggregated over a window (`increase` and `rate` count from the rule's creation) and POSTs `firing` / `resolved` to the webhook. Metrics with a `project` label (LLM, tool, A2A counters) count the rule's project only.", example: { projectId: P, name: "tool errors", metric: "tool_errors_total", aggregation: "increase", comparison: "gte", threshold: 5, windowSeconds: 300, webhookUrl: "https://hooks.example.com/alerts" } },
  "observability.getAlert": { summary: "Get an alert rule", description: "One rule with its current state." },
  "observability.updateAlert": { summary: "Update an alert rule", description: "Changes the given fields; a new metric or labels count from now." },
  "observability.deleteAlert": { summary: "Delete an alert rule", description: "Removes the rule and its state; no `resolved` is sent." },

  "rag.uploadDocument": { summary: "Upload a document", description: "Multipart form (`file`, `projectId`, optional `metadata` JSON). PDF, DOCX, Markdown, HTML or text; extracted in a worker, chunked and embedded in the background (progress in the document and as `rag.ingestion.progress` events). Over an extraction limit: 413 naming the variable." },
  "rag.listDocuments": { summary: "List documents", description: "Documents of a project with their ingestion status and progress." },
  "rag.getDocument": { summary: "Get a document", description: "One document: status, chunk counts, metadata." },
  "rag.deleteDocument": { summary: "Delete a document", description: "Removes the document and its chunks." },
  "rag.query": { summary: "Search documents", description: "Hybrid search (pgvector HNSW + full text fused by reciprocal rank) over a project's chunks; each hit with score, document and page.", example: { projectId: P, query: "refund policy", k: 5, mode: "hybrid" } },
  "rag.embeddingStats": { summary: "Embedding statistics", description: "Model, dimension, chunk counts and cache figures for a project." },

  "workflows.listWorkflows": { summary: "List workflows", description: "Workflows of the caller's projects (latest version of each)." },
  "workflows.createWorkflow": { summary: "Create a workflow", description: "Validates and stores a definition (`WorkflowDefinition`: steps of type agent, tool, rag, sql, http, set, wait, approval, subworkflow, condition, parallel, loop; expressions in `${…}`). Problems answer 400 with one issue per path.", example: { projectId: P, name: "answer", definition: { steps: [{ id: "search", type: "rag", query: "${input.question}" }, { id: "reply", type: "agent", agentId: "agt_…", input: "Answer ${input.question} from ${steps.search.output}" }], output: "${steps.reply.output}" } } },
  "workflows.executeAny": { summary: "Run a workflow or an inline definition", description: "The orchestrator's entry point: a stored workflow by `workflowId`, or an inline `definition` with `projectId`." },
  "workflows.getRun": { summary: "Get a run", description: "A run with its steps (status, output, error) and result." },
  "workflows.cancelRun": { summary: "Cancel a run", description: "Interrupts the run and runs the compensations of its completed steps." },
  "workflows.signalRun": { summary: "Approve, reject or signal a run", description: "Answers an `approval` step (or a named signal) a run waits on.", example: { stepId: "review", approved: true, comment: "ok" } },
  "workflows.getWorkflow": { summary: "Get a workflow", description: "The workflow with its latest definition and schedule." },
  "workflows.updateWorkflow": { summary: "Update a workflow", description: "Appends a new version; running runs keep the version they started with." },
  "workflows.deleteWorkflow": { summary: "Delete a workflow", description: "Removes the workflow, its versions and schedule, and cancels its runs in flight; runs stay readable by id." },
  "workflows.executeWorkflow": { summary: "Run a workflow", description: "Starts a durable run of the latest (or a given) version; the same `idempotencyKey` starts one run.", example: { input: { question: "What is our refund policy?" }, idempotencyKey: "ticket-42" } },
  "workflows.workflowStatus": { summary: "Latest run of a workflow", description: "The most recent run and its steps." },
  "workflows.listRuns": { summary: "List a workflow's runs", description: "Runs newest first, filtered by status." },

  "sqlTool.createConnection": { summary: "Save a SQL connection", description: "PostgreSQL, MariaDB/MySQL, SQL Server or SQLite; the connection string is encrypted (AES-256-GCM) and its host checked by the egress policy. `writable` is for operators.", example: { projectId: P, name: "analytics", connectionString: "postgres://reader:secret@db.example.com:5432/analytics" } },
  "sqlTool.listConnections": { summary: "List SQL connections", description: "Connections of the caller's projects, without their credentials." },
  "sqlTool.deleteConnection": { summary: "Delete a SQL connection", description: "Removes the connection and closes its pool." },
  "sqlTool.execute": { summary: "Run a read-only query", description: "One statement, checked by a parser and a function allow-list, run in a read-only transaction with a timeout and row / byte caps.", example: { connectionId: "conn_…", sql: "SELECT id, total FROM orders ORDER BY total DESC LIMIT 10" } },
  "sqlTool.schema": { summary: "Browse a connection's schema", description: "Tables, columns and row estimates (cached `SQL_TOOL_SCHEMA_CACHE_MS`; `refresh=true` reads again)." },
  "sqlTool.explain": { summary: "Explain a query", description: "The query plan (EXPLAIN, or EXPLAIN ANALYZE inside a read-only transaction)." },

  "tools.listTools": { summary: "List tools", description: "Built-ins (`http_fetch`, `rag_search`, `sql_query`), HTTP tools and MCP servers' tools (`server__tool`) of a project, each with its JSON Schema." },
  "tools.registerHttpTool": { summary: "Register an HTTP tool", description: "A tool that POSTs its validated JSON arguments to a URL (egress policy applies), with optional secret headers never returned.", example: { projectId: P, name: "weather", description: "Weather by city", url: "https://api.example.com/weather", inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
  "tools.executeTool": { summary: "Execute a tool", description: "Validates the arguments against the tool's JSON Schema (400 naming the field) and calls it within `TOOLS_CALL_TIMEOUT_MS` (504 past it).", example: { projectId: P, arguments: { query: "refund policy" } } },
  "tools.listMcpServers": { summary: "List MCP servers", description: "MCP servers of a project with their connection status." },
  "tools.getMcpServer": { summary: "Get an MCP server", description: "Session (connected, pid, last error), tools, resources and prompts of one server." },
  "tools.deleteMcpServer": { summary: "Delete an MCP server", description: "Stops its session (and process) and removes its tools." },
  "tools.listMcpCatalog": { summary: "List the stdio MCP catalog", description: "Entries operators published (id, description, parameters); only operators see command lines." },
  "tools.putMcpCatalogEntry": { summary: "Publish a stdio MCP catalog entry", description: "Operators only: a command line projects may start with declared `{{parameters}}`.", example: { description: "files of /srv/shared/<dir>", command: "node", args: ["/opt/mcp/server-filesystem/dist/index.js", "/srv/shared/{{dir}}"], params: [{ name: "dir", pattern: "[a-z0-9-]{1,40}" }] } },
  "tools.deleteMcpCatalogEntry": { summary: "Remove a catalog entry", description: "Operators only; servers started from it stop at their next connect." },
  "tools.authorizeMcpServer": { summary: "Authorize a remote MCP server (OAuth 2.1)", description: "Project admins, for an HTTP server registered with `oauth`. Discovers the server's protected-resource and authorization-server metadata (every URL through the egress policy), registers a client when none is configured, and answers `pending` with the authorization URL (PKCE S256, a `state` bound to this project, server and user, valid 10 minutes) to open in the browser; `authorized` when client_credentials or stored tokens (refreshed if needed) suffice. Tokens are stored sealed and never returned." },
  "tools.completeMcpOAuth": { summary: "Complete an MCP server's OAuth authorization", description: "The `code` and `state` the authorization server sent to the redirect URL (`MCP_OAUTH_REDIRECT_URL`), posted by the user who started the authorization: the code is exchanged for tokens (stored sealed, per project) and the server's session reconnects with them. 404 for an unknown, expired, used or another user's `state`.", example: { code: "…", state: "…" } },
  "tools.registerMcpServer": { summary: "Register an MCP server", description: "A catalog entry (stdio) or a Streamable HTTP URL; connected at once. A server that cannot be started or reached answers 400 and nothing is stored, so the corrected request can reuse the name.", example: { projectId: P, name: "files", transport: { type: "catalog", entry: "files", params: { dir: "team-a" } } } }
}
