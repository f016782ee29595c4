import { readdirSync, readFileSync } from "node:fs"

/**
 * CPU ticks (1/100 s) of each thread of this process, by thread name (numbered pools merged):
 * the JavaScript thread ("bun"), JavaScriptCore's JIT compiler ("JITWorker"), the embedded
 * database's worker ("Worker"), GC and allocator helpers. Read from /proc.
 */
export const threadTicks = () => {
  const byName: Record<string, number> = {}
  for (const task of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, "utf8")
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/[0-9]+$/, "")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      byName[name] = (byName[name] ?? 0) + Number(fields[11]) + Number(fields[12])
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return byName
}
