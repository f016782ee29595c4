import { Either } from "effect"
import type { McpCatalogEntry } from "../domain/Mcp.ts"

/** The process a catalog entry describes, with the project's parameter values filled in. */
export interface ResolvedStdio {
  readonly type: "stdio"
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  readonly cwd?: string | undefined
}

const PLACEHOLDER = /\{\{([a-z][a-z0-9_]{0,31})\}\}/g

/**
 * Fills `{{name}}` placeholders of an operator's catalog entry with a
 * project's values. The command itself is never parameterised; a value is
 * one argv element's content (no shell reads it), so it may not start with
 * '-' (it would add a flag), hold control characters, or be an undeclared
 * name; the operator's `pattern` must match the whole value. Errors name the
 * parameter, never echo the value.
 */
export const resolveCatalogEntry = (
  entry: McpCatalogEntry,
  values: Readonly<Record<string, string>>
): Either.Either<ResolvedStdio, { readonly param: string; readonly message: string }> => {
  const declared = new Map(entry.params.map((p) => [p.name, p] as const))
  for (const name of Object.keys(values)) {
    if (!declared.has(name)) return Either.left({ param: name, message: `catalog entry ${entry.id} has no parameter ${name}` })
  }
  for (const param of entry.params) {
    const value = values[param.name]
    if (value === undefined) {
      if (param.required) return Either.left({ param: param.name, message: "is required" })
      continue
    }
    if (value.startsWith("-")) return Either.left({ param: param.name, message: "must not start with '-'" })
    if (/[\u0000-\u001f\u007f]/.test(value)) return Either.left({ param: param.name, message: "must not contain control characters" })
    if (param.pattern !== undefined) {
      let matches = false
      try {
        matches = new RegExp(`^(?:${param.pattern})$`, "u").test(value)
      } catch {
        return Either.left({ param: param.name, message: "the catalog's pattern for this parameter is invalid" })
      }
      if (!matches) return Either.left({ param: param.name, message: "does not match the allowed pattern" })
    }
  }
  const fill = (text: string) => text.replace(PLACEHOLDER, (_, name: string) => values[name] ?? "")
  return Either.right({
    type: "stdio",
    command: entry.command,
    // An optional parameter left empty drops its whole argument instead of passing "".
    args: entry.args.filter((a) => !isOnlyUnsetPlaceholder(a, values)).map(fill),
    env: Object.fromEntries(Object.entries(entry.env).map(([k, v]) => [k, fill(v)])),
    ...(entry.cwd !== undefined ? { cwd: entry.cwd } : {})
  })
}

const isOnlyUnsetPlaceholder = (arg: string, values: Readonly<Record<string, string>>) => {
  const m = /^\{\{([a-z][a-z0-9_]{0,31})\}\}$/.exec(arg)
  return m !== null && values[m[1]!] === undefined
}

/** Placeholders of an entry that name no declared parameter: an operator's typo, refused when the entry is published. */
export const undeclaredPlaceholders = (entry: McpCatalogEntry): ReadonlyArray<string> => {
  const declared = new Set(entry.params.map((p) => p.name))
  const used = [...entry.args, ...Object.values(entry.env)].flatMap((text) => [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))
  return [...new Set(used.filter((name) => !declared.has(name)))]
}
