import { SQL } from "bun"
import { Database } from "bun:sqlite"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { createTestDatabase } from "../support/postgres.ts"

/**
 * Scratch target databases for the SQL tool: the same small schema on the
 * machine's real PostgreSQL 15, MariaDB and a SQLite file. `victims` is the
 * table attacks aim at; `orders` gives joins; `events` is large enough for
 * "sequential scan on a large table" hints.
 */
export const MYSQL_ADMIN_URL = process.env.TEST_MYSQL_ADMIN_URL ?? "mysql://root@127.0.0.1:3306/mysql"

export const EVENTS_ROWS = 5_000

/** Every SQLite target is created under this directory: the one tests let tenants open (SQL_TOOL_SQLITE_ALLOW_DIRS). */
export const SQLITE_TARGETS_DIR = path.join(os.tmpdir(), "sqltool-sqlite-targets")

const seedStatements = (dialect: "postgres" | "mysql" | "sqlite") => [
  "CREATE TABLE victims (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, secret VARCHAR(100))",
  "INSERT INTO victims (id, name, secret) VALUES (1, 'alice', 's1'), (2, 'bob', 's2'), (3, 'carol', 's3')",
  "CREATE TABLE orders (id INT PRIMARY KEY, victim_id INT NOT NULL REFERENCES victims (id), amount INT NOT NULL)",
  "CREATE INDEX orders_victim_idx ON orders (victim_id)",
  "INSERT INTO orders (id, victim_id, amount) VALUES (1, 1, 10), (2, 1, 25), (3, 2, 5), (4, 3, 40)",
  "CREATE TABLE events (id INT PRIMARY KEY, kind VARCHAR(20) NOT NULL, n INT NOT NULL)",
  ...(dialect === "postgres" ? ["CREATE SEQUENCE victims_seq"] : [])
]

const eventsInsert = (from: number, to: number) => {
  const values: Array<string> = []
  for (let i = from; i < to; i++) values.push(`(${i}, 'k${i % 50}', ${i % 997})`)
  return `INSERT INTO events (id, kind, n) VALUES ${values.join(", ")}`
}

export interface Target {
  readonly dialect: "postgres" | "mysql" | "sqlite"
  /** The connection string a user would save. */
  readonly url: string
  /** victims rows + table names: what must not change under read-only attacks. */
  readonly snapshot: () => Promise<string>
  readonly exec: (sql: string) => Promise<unknown>
  readonly drop: () => Promise<void>
}

export const createPostgresTarget = async (): Promise<Target> => {
  const db = await createTestDatabase("sqltool_pg")
  const conn = new SQL(db.url)
  for (const s of seedStatements("postgres")) await conn.unsafe(s)
  for (let i = 0; i < EVENTS_ROWS; i += 1000) await conn.unsafe(eventsInsert(i, i + 1000))
  await conn.unsafe("ANALYZE")
  return {
    dialect: "postgres",
    url: db.url,
    exec: (sql) => conn.unsafe(sql),
    snapshot: async () =>
      JSON.stringify([
        await conn.unsafe("SELECT id, name, secret FROM victims ORDER BY id"),
        await conn.unsafe("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"),
        await conn.unsafe("SELECT last_value, is_called FROM victims_seq")
      ]),
    drop: async () => {
      await conn.close()
      await db.drop()
    }
  }
}

export const createMysqlTarget = async (): Promise<Target> => {
  const name = `sqltool_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
  const admin = new SQL(MYSQL_ADMIN_URL)
  await admin.unsafe(`CREATE DATABASE ${name}`)
  await admin.close()
  const url = MYSQL_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`)
  const conn = new SQL(url)
  for (const s of seedStatements("mysql")) await conn.unsafe(s)
  for (let i = 0; i < EVENTS_ROWS; i += 1000) await conn.unsafe(eventsInsert(i, i + 1000))
  await conn.unsafe("ANALYZE TABLE events")
  return {
    dialect: "mysql",
    url,
    exec: (sql) => conn.unsafe(sql),
    snapshot: async () =>
      JSON.stringify([
        await conn.unsafe("SELECT id, name, secret FROM victims ORDER BY id"),
        await conn.unsafe(`SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${name}' ORDER BY 1`)
      ]),
    drop: async () => {
      await conn.close()
      const a = new SQL(MYSQL_ADMIN_URL)
      await a.unsafe(`DROP DATABASE IF EXISTS ${name}`)
      await a.close()
    }
  }
}

export const createSqliteTarget = async (): Promise<Target> => {
  fs.mkdirSync(SQLITE_TARGETS_DIR, { recursive: true })
  const dir = fs.mkdtempSync(path.join(SQLITE_TARGETS_DIR, "target-"))
  const file = path.join(dir, "target.db")
  const db = new Database(file, { create: true })
  for (const s of seedStatements("sqlite")) db.run(s)
  for (let i = 0; i < EVENTS_ROWS; i += 1000) db.run(eventsInsert(i, i + 1000))
  return {
    dialect: "sqlite",
    url: `sqlite:${file}`,
    exec: async (sql) => db.run(sql),
    snapshot: async () =>
      JSON.stringify([
        db.query("SELECT id, name, secret FROM victims ORDER BY id").all(),
        db.query("SELECT name FROM sqlite_master ORDER BY name").all(),
        db.query("PRAGMA user_version").all()
      ]),
    drop: async () => {
      db.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
