import { SQL } from "bun"
import { Effect, Layer } from "effect"
import { createTestDatabase } from "./postgres.ts"
import { singleNodeRuntime } from "./singleNode.ts"

/**
 * For tests that read PostgreSQL's plans of the platform's statements: a test database with
 * the platform's and the cluster's tables (as a node creates them), one user, `project` and
 * `agent` to hang rows on, and an admin connection.
 */
export const planDatabase = async (prefix: string, ids: { readonly project: string; readonly agent: string }) => {
  const db = await createTestDatabase(prefix)
  const node = singleNodeRuntime(Layer.empty, db.url)
  await node.runPromise(Effect.void)
  await node.dispose()
  const admin = new SQL(db.url)
  await admin.unsafe(`
    INSERT INTO users (id, email, password_hash) VALUES ('plan_user', 'plan@example.com', 'x');
    INSERT INTO projects (id, name, owner_id) VALUES ('${ids.project}', 'plan', 'plan_user');
    INSERT INTO agents (id, project_id, name, slug, provider, model) VALUES ('${ids.agent}', '${ids.project}', 'Plan', 'plan', 'local', 'local');`)
  return {
    admin,
    close: async () => {
      await admin.close()
      await db.drop()
    }
  }
}

/**
 * `f` on one reserved connection inside a transaction that is then rolled back (what it seeded
 * is never committed, so the tables get no statistics from it), its prepared statements dropped.
 */
export const rolledBack = async <A>(admin: SQL, f: (connection: SQL) => Promise<A>): Promise<A> => {
  const reserved = await admin.reserve()
  try {
    await reserved.unsafe("BEGIN")
    return await f(reserved)
  } finally {
    await reserved.unsafe("ROLLBACK").catch(() => undefined)
    await reserved.unsafe("DEALLOCATE ALL").catch(() => undefined)
    reserved.release()
  }
}
