#!/usr/bin/env bun
import { createInterface } from "node:readline"
import { parseArgs, UsageError } from "./Args.ts"
import { agentsCommand, type Io, loginCommand, projectsCommand, ragCommand } from "./Commands.ts"
import { configPath } from "./Config.ts"
import { eventsCommand, tracesCommand, workflowsCommand } from "./WorkflowCommands.ts"

const HELP = `agent-platform CLI: the platform's typed client from a terminal.

Usage: bun run cli <command> [options]

Commands:
  login --email E [--password P]        log in; stores the token in ${configPath()}
  projects                              your projects (* = the default one)
  agents list | get <id>                agents of your projects
  agents create --name N [--prompt S] [--provider P --model M] [--tools a,b]
  agents chat <agentId> [message]       chat, streaming the reply (no message: one turn per input line)
  agents delete <id>
  rag upload <file>                     upload a document, with a progress bar until it is searchable
  rag query <text> [--k N] [--json]     retrieve the best chunks
  rag list | status <documentId>
  workflows list | runs <workflowId>
  workflows create --name N --definition JSON|@file.json
  workflows run <workflowId> [--input JSON] [--wait]
  workflows status <runId> [--wait]
  workflows approve|reject <runId> [--step S] [--comment C]
  workflows cancel <runId>
  events [--topics agents/,workflows/] [--limit N]   tail /ws/events
  traces [traceId] [--service S] [--operation O] [--status ok|error] [--limit N] [--all]

Options:
  --url URL         platform base URL (else AGENT_PLATFORM_URL, the stored login, http://localhost:8000)
  --project ID      project (else AGENT_PLATFORM_PROJECT, the one chosen at login)
  -h, --help        this help

Environment: AGENT_PLATFORM_TOKEN (a token or API key instead of login),
AGENT_PLATFORM_CONFIG (where login stores its file), AGENT_PLATFORM_EMAIL / AGENT_PLATFORM_PASSWORD.
`

const commands: Record<string, (args: ReturnType<typeof parseArgs>, io: Io) => Promise<unknown>> = {
  login: loginCommand,
  projects: projectsCommand,
  agents: agentsCommand,
  rag: ragCommand,
  workflows: workflowsCommand,
  events: eventsCommand,
  traces: tracesCommand
}

const stdinLines = async function*() {
  const rl = createInterface({ input: process.stdin, terminal: false })
  try {
    for await (const line of rl) yield line
  } finally {
    rl.close()
  }
}

export const main = async (argv: ReadonlyArray<string>, io: Io): Promise<number> => {
  const args = parseArgs(argv, new Set(["help", "wait", "json", "all"]))
  const name = args.positionals[0]
  if (name === undefined || args.flags.has("help") || name === "help") {
    io.out(HELP)
    return name === undefined && !args.flags.has("help") ? 2 : 0
  }
  const command = commands[name]
  if (command === undefined) {
    io.err(`unknown command ${name}\n\n${HELP}`)
    return 2
  }
  try {
    await command(args, io)
    return 0
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n(see bun run cli --help)\n`)
      return 2
    }
    // Platform errors carry their tag (NotFound, Forbidden, Unauthorized, ...): say it plainly.
    const err = e as { _tag?: string; message?: string }
    io.err(`${err._tag ?? "Error"}: ${err.message ?? String(e)}\n`)
    return 1
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    lines: stdinLines,
    env: process.env
  })
  process.exit(code)
}
