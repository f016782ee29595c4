import { readFileSync } from "node:fs"

/** CPU time this thread has used, in ms (Linux; 10 ms resolution), or undefined elsewhere. */
const threadCpuMs = (): number | undefined => {
  try {
    const fields = readFileSync("/proc/thread-self/stat", "utf8").split(") ")[1].split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

/**
 * Measures how long this process's event loop is blocked: a 10 ms timer
 * records the largest delay past its due time. The platform under test runs
 * in this process (startPlatform), so this is the platform's stall.
 *
 * `maxStallMs` is wall time, which on a shared 2-core machine also counts
 * the OS not scheduling the thread at all; `maxBusyStallMs` counts only the
 * CPU the event-loop thread itself used during a late tick (work that held
 * the loop), which is what a request handler running on it would cause.
 */
export const startStallProbe = () => {
  let last = performance.now()
  let lastCpu = threadCpuMs()
  const started = last
  let maxStallMs = 0
  let maxBusyStallMs = 0
  /** Stalls over 50 ms: [ms since start, wall ms, CPU ms of the loop thread]. */
  const long: Array<[number, number, number]> = []
  const timer = setInterval(() => {
    const now = performance.now()
    const cpu = threadCpuMs()
    const stall = now - last - 10
    // 10 ms of slack: /proc reports CPU time in 10 ms ticks.
    const busy = cpu === undefined || lastCpu === undefined ? stall : Math.min(stall, Math.max(0, cpu - lastCpu - 10))
    if (stall > 50) long.push([Math.round(last - started), Math.round(stall), Math.round(busy)])
    maxStallMs = Math.max(maxStallMs, stall)
    maxBusyStallMs = Math.max(maxBusyStallMs, busy)
    last = now
    lastCpu = cpu
  }, 10)
  return {
    long,
    /** Stops the probe: the largest stalls seen, in ms. */
    stop: () => {
      clearInterval(timer)
      return { maxStallMs, maxBusyStallMs }
    }
  }
}

/** Resident set size of this process, in MB. */
export const rssMb = () => process.memoryUsage.rss() / 1024 / 1024
