import { chownSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { freePort } from "./freePort.ts"

/**
 * A PostgreSQL 15 server of the test's own (initdb in a temp dir, its own port and socket
 * directory), for fault tests that stop and start the database under the platform. The
 * machine's shared server on 5432 is never touched. initdb and postgres refuse to run as
 * root: as root the binaries run as the `postgres` OS user, which owns the directory.
 */
const BIN = process.env.PG_BIN_DIR ?? "/usr/lib/postgresql/15/bin"

const asPostgresUser = (argv: Array<string>) =>
  process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...argv] : argv

const run = async (argv: Array<string>, timeoutMs: number) => {
  const proc = Bun.spawn(asPostgresUser(argv), { stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" })
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  if (code !== 0) throw new Error(`${path.basename(argv[0]!)} exited ${code}: ${(err || out).slice(-2000)}`)
}

export interface PrivatePostgres {
  readonly url: string
  readonly port: number
  readonly start: () => Promise<void>
  /** `pg_ctl stop -m immediate`: the server dies without a checkpoint, as in a crash. */
  readonly stopImmediate: () => Promise<void>
  /** Stops the server (if running) and removes its directory. */
  readonly remove: () => Promise<void>
}

export interface PrivatePostgresOptions {
  /** Server settings (`-c name=value`), e.g. shared_buffers for a benchmark's corpus. */
  readonly settings?: Readonly<Record<string, string>>
  /**
   * fsync on (as a production server): a benchmark whose writes must cost what they would. Off by
   * default: fault tests stop the server process, never the machine.
   */
  readonly durable?: boolean
}

export const startPrivatePostgres = async (options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> => {
  const dir = mkdtempSync(path.join(tmpdir(), "private-pg-"))
  const dataDir = path.join(dir, "data")
  if (process.getuid?.() === 0) {
    const { uid, gid } = await postgresIds()
    chownSync(dir, uid, gid)
  }
  const port = await freePort()
  await run([`${BIN}/initdb`, "-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"], 60_000)
  const start = () =>
    run([
      `${BIN}/pg_ctl`,
      "-D",
      dataDir,
      "-l",
      path.join(dir, "server.log"),
      "-w",
      "-t",
      "60",
      // fsync off: the machine does not crash in these tests, only the server process stops.
      "-o",
      [
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=60`,
        ...(options.durable === true ? [] : ["-c fsync=off"]),
        ...Object.entries(options.settings ?? {}).map(([name, value]) => `-c ${name}=${value}`)
      ].join(" "),
      "start"
    ], 90_000)
  const stopImmediate = () => run([`${BIN}/pg_ctl`, "-D", dataDir, "-m", "immediate", "-w", "-t", "30", "stop"], 45_000)
  await start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stopImmediate,
    remove: async () => {
      await stopImmediate().catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

const postgresIds = async () => {
  const text = await Bun.file("/etc/passwd").text()
  const line = text.split("\n").find((l) => l.startsWith("postgres:"))
  if (line === undefined) throw new Error("no postgres OS user to run initdb as (initdb refuses root)")
  const [, , uid, gid] = line.split(":")
  return { uid: Number(uid), gid: Number(gid) }
}
