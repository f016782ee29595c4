import * as fs from "node:fs"

// Measurements of this test process, where the platform under test runs (startPlatform, startSqlTool).

/** CPU time of this process and its children (the SQLite worker), as a share of one core over `ms`. */
export const cpuShareOfTree = async (ms: number) => {
  const ticks = () => {
    const byPid = new Map<number, number>()
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
        // fields[1] is the parent pid; [11] utime and [12] stime in clock ticks (100 per second).
        if (Number(entry) === process.pid || Number(fields[1]) === process.pid) {
          byPid.set(Number(entry), Number(fields[11]) + Number(fields[12]))
        }
      } catch {
        // The process ended while being read.
      }
    }
    return byPid
  }
  const before = ticks()
  const started = performance.now()
  await Bun.sleep(ms)
  // Per process: one that ended meanwhile adds nothing, one that started counts whole.
  let used = 0
  for (const [pid, t] of ticks()) used += t - (before.get(pid) ?? 0)
  return used * 10 / (performance.now() - started)
}

/** Child processes of this one running SQLite statements. */
export const sqliteWorkers = () =>
  fs.readdirSync("/proc").filter((entry) => {
    if (!/^\d+$/.test(entry)) return false
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      return parent === process.pid && fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("sqliteQueryWorker")
    } catch {
      return false
    }
  })

/** The largest delay of a 10 ms timer past its due time while `work` runs: this process's event-loop stall. */
export const withStallProbe = async <A>(work: () => Promise<A>) => {
  let last = performance.now()
  let maxStallMs = 0
  const timer = setInterval(() => {
    const now = performance.now()
    maxStallMs = Math.max(maxStallMs, now - last - 10)
    last = now
  }, 10)
  try {
    return { result: await work(), maxStallMs }
  } finally {
    clearInterval(timer)
  }
}

/** Loopback TCP ports this process listens on (the HTTP server, the embedded database's port). */
export const listeningPorts = () => {
  const inodes = new Set<string>()
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      const link = fs.readlinkSync(`/proc/self/fd/${fd}`)
      const m = /^socket:\[(\d+)\]$/.exec(link)
      if (m) inodes.add(m[1])
    } catch {
      // Closed while listing.
    }
  }
  return fs.readFileSync("/proc/self/net/tcp", "utf8").split("\n").slice(1).flatMap((line) => {
    const cols = line.trim().split(/\s+/)
    // cols[1] local address (hex ip:port), cols[3] state (0A = LISTEN), cols[9] inode.
    if (cols.length < 10 || cols[3] !== "0A" || !inodes.has(cols[9])) return []
    return [Number.parseInt(cols[1].split(":")[1], 16)]
  })
}
