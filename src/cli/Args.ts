/**
 * A small argv parser: positionals, `--flag value`, `--flag=value` and
 * boolean `--flag` (a flag followed by another flag or nothing).
 */
export interface Args {
  readonly positionals: ReadonlyArray<string>
  readonly flags: ReadonlyMap<string, string | true>
}

export const parseArgs = (argv: ReadonlyArray<string>, booleans: ReadonlySet<string> = new Set()): Args => {
  const positionals: Array<string> = []
  const flags = new Map<string, string | true>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=")
      if (eq > 0) {
        flags.set(arg.slice(2, eq), arg.slice(eq + 1))
        continue
      }
      const name = arg.slice(2)
      const next = argv[i + 1]
      if (booleans.has(name) || next === undefined || next.startsWith("--")) flags.set(name, true)
      else {
        flags.set(name, next)
        i++
      }
      continue
    }
    if (arg === "-h") flags.set("help", true)
    else positionals.push(arg)
  }
  return { positionals, flags }
}

export const flag = (args: Args, name: string): string | undefined => {
  const value = args.flags.get(name)
  return typeof value === "string" ? value : undefined
}

export const hasFlag = (args: Args, name: string) => args.flags.has(name)

/** A usage error: printed with the command's help, exit code 2. */
export class UsageError extends Error {}

export const required = (value: string | undefined, what: string): string => {
  if (value === undefined || value.length === 0) throw new UsageError(`missing ${what}`)
  return value
}
