import { Context } from "effect"

/**
 * A condition (always true) that makes the statement's own transaction commit without waiting
 * for PostgreSQL to flush its commit record to disk: `synchronous_commit` set to `off` for that
 * transaction only (`set_config(..., true)`; the commit reads the setting before the
 * transaction's settings are reset), inside the one statement, so it costs no round trip.
 *
 * For writes whose loss can only make work run again that runs at least once anyway. On a
 * PostgreSQL server of its own (DATABASE_URL), a platform process killed at any point loses
 * nothing (the commit is done; the server's WAL writer writes the record within
 * wal_writer_delay); the server itself (or its machine) crashing can lose the last such commits,
 * never a later synchronous one — the WAL is one sequence, and a synchronous commit flushes every
 * record before it. Measured on this machine: a commit's wait for the flush was ~0.3 ms of each
 * 0.7 ms write (issue #19).
 */
export const COMMIT_WITHOUT_FLUSH_WAIT = "set_config('synchronous_commit', 'off', true) IS NOT NULL"

/**
 * Whether the database outlives this process, so a commit may skip the flush wait
 * (`COMMIT_WITHOUT_FLUSH_WAIT`). Not the embedded database: it runs inside this process with no
 * WAL writer of its own, so an unflushed commit dies with the process (a kill -9 lost a workflow
 * step's record that way). False unless the database layer says otherwise (src/db/Database.ts).
 */
export class SeparateDatabaseServer extends Context.Reference<SeparateDatabaseServer>()("Db/SeparateDatabaseServer", {
  defaultValue: () => false
}) {}
