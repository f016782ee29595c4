import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join } from "node:path"

/** What `login` stores: where the platform is, the token, and the project commands default to. */
export interface CliConfig {
  readonly baseUrl?: string
  readonly token?: string
  readonly email?: string
  readonly projectId?: string
}

/** `AGENT_PLATFORM_CONFIG`, else `~/.config/agent-platform/config.json` (XDG_CONFIG_HOME respected). */
export const configPath = (env: NodeJS.ProcessEnv = process.env) =>
  env.AGENT_PLATFORM_CONFIG ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "agent-platform", "config.json")

export const readConfig = (path = configPath()): CliConfig =>
  existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as CliConfig) : {}

/** Written 0600: the file holds a bearer token. */
export const writeConfig = (config: CliConfig, path = configPath()) => {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  writeFileSync(path, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 })
  chmodSync(path, 0o600)
}

/** Flags, then the environment (`AGENT_PLATFORM_URL`, `AGENT_PLATFORM_TOKEN`, `AGENT_PLATFORM_PROJECT`), then the stored login. */
export const resolveSettings = (flags: { url?: string | undefined; project?: string | undefined }, env: NodeJS.ProcessEnv = process.env) => {
  const stored = readConfig(configPath(env))
  return {
    baseUrl: flags.url || env.AGENT_PLATFORM_URL || stored.baseUrl || "http://localhost:8000",
    token: env.AGENT_PLATFORM_TOKEN || stored.token,
    projectId: flags.project || env.AGENT_PLATFORM_PROJECT || stored.projectId
  }
}
