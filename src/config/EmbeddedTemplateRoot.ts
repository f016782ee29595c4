import * as os from "node:os"
import * as path from "node:path"

/**
 * `EMBEDDED_PG_TEMPLATE_DIR`: where the embedded database's pre-initialised
 * data dir template is kept (src/db/embedded/DataDir.ts). Plain Node APIs:
 * main.ts reads it before the platform's modules load.
 */

/** The default: `$XDG_CACHE_HOME/agent-platform` or `~/.cache/agent-platform`. */
export const defaultTemplateRoot = (env: Record<string, string | undefined> = process.env) =>
  path.join(env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache"), "agent-platform")

/** `off` (or empty) turns the template off: every fresh data dir runs initdb. */
export const templateRootFrom = (value: string | undefined): string | undefined =>
  value === undefined ? defaultTemplateRoot() : value === "" || value === "off" ? undefined : path.resolve(value)
