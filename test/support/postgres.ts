import { SQL } from "bun"

/**
 * The machine's real PostgreSQL 15 (trust auth; pgvector once `.ci/run` installed it). Each suite gets
 * its own database so suites can run in parallel and leave nothing behind.
 */
export const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

export const createTestDatabase = async (prefix = "t") => {
  const name = `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`.toLowerCase()
  const admin = new SQL(ADMIN_URL)
  await admin.unsafe(`CREATE DATABASE ${name}`)
  await admin.close()
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`)
  return {
    name,
    url,
    drop: async () => {
      const a = new SQL(ADMIN_URL)
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await a.close()
    }
  }
}
