import { Either, Redacted } from "effect"
import * as path from "node:path"
import type { Dialect } from "../domain/SqlTool.ts"

/** A parsed connection string. Credentials stay `Redacted` from here on. */
export type ConnectionTarget =
  | {
    readonly dialect: "postgres" | "mysql" | "mssql"
    readonly host: string
    readonly port: number
    readonly database: string | undefined
    readonly username: string | undefined
    readonly password: Redacted.Redacted<string> | undefined
    readonly options: ReadonlyMap<string, string>
    /** Set when `host` is the address the egress policy checked: the name TLS verifies the certificate against. */
    readonly tlsServerName?: string | undefined
  }
  | { readonly dialect: "sqlite"; readonly filename: string }

const schemes: Record<string, Exclude<Dialect, "sqlite">> = {
  "postgres:": "postgres",
  "postgresql:": "postgres",
  "mysql:": "mysql",
  "mariadb:": "mysql",
  "mssql:": "mssql",
  "sqlserver:": "mssql"
}
const defaultPorts: Record<Exclude<Dialect, "sqlite">, number> = { postgres: 5432, mysql: 3306, mssql: 1433 }

/** Never echoes the input back: a malformed string may still hold a password. */
export const parseConnectionString = (raw: string): Either.Either<ConnectionTarget, string> => {
  const trimmed = raw.trim()
  if (/^sqlite:/i.test(trimmed)) {
    const filename = decodeURIComponent(trimmed.replace(/^sqlite:(\/\/)?/i, ""))
    // A relative name is a file of the project's own directory: SqlToolService resolves and confines it.
    if (filename === "") return Either.left("sqlite connection strings need a file (sqlite:<name>.db or sqlite:/path/to/file.db)")
    return Either.right({ dialect: "sqlite", filename })
  }
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    return Either.left("connection string is not a valid URL")
  }
  const dialect = schemes[url.protocol.toLowerCase()]
  if (dialect === undefined) {
    return Either.left("unsupported scheme: use postgres://, mysql://, mariadb://, mssql://, sqlserver:// or sqlite:/path")
  }
  if (url.hostname === "") return Either.left("connection string has no host")
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || undefined
  return Either.right({
    dialect,
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port === "" ? defaultPorts[dialect] : Number(url.port),
    database,
    username: url.username === "" ? undefined : decodeURIComponent(url.username),
    password: url.password === "" ? undefined : Redacted.make(decodeURIComponent(url.password)),
    options: new Map(url.searchParams.entries())
  })
}

/** What a listing shows: where, never who or with what password. */
export const describeTarget = (target: ConnectionTarget) =>
  target.dialect === "sqlite"
    ? path.basename(target.filename)
    : `${target.host}:${target.port}${target.database ? `/${target.database}` : ""}`
