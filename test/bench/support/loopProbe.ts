import { appendFileSync } from "node:fs"

/**
 * Preloaded into the platform process by the soak benchmark (`bun --preload`): measures how
 * late a 10 ms timer fires (event-loop delay) and appends the window's p99 and max, in ms, as
 * one JSON line to LOOP_PROBE_FILE every LOOP_PROBE_WINDOW_MS. Nothing in src/ knows about it.
 */
const file = process.env.LOOP_PROBE_FILE
if (file !== undefined) {
  const windowMs = Number(process.env.LOOP_PROBE_WINDOW_MS ?? 10_000)
  let delays: Array<number> = []
  let last = performance.now()
  setInterval(() => {
    const now = performance.now()
    delays.push(Math.max(0, now - last - 10))
    last = now
  }, 10).unref()
  setInterval(() => {
    const sorted = delays.sort((a, b) => a - b)
    delays = []
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0
    appendFileSync(file, JSON.stringify({ at: Date.now(), p99, max: sorted[sorted.length - 1] ?? 0 }) + "\n")
  }, windowMs).unref()
}

/**
 * Leak hunting (HEAP_PROBE_FILE set, diagnostic runs only: the full GC it forces stalls the
 * loop): on SIGUSR2 (the soak bench sends it at each sample), after a full GC, the live heap size and the count of each object type
 * (bun:jsc heapStats) as one JSON line, so two lines diffed show what accumulates.
 */
const heapFile = process.env.HEAP_PROBE_FILE
if (heapFile !== undefined) {
  const { heapStats } = await import("bun:jsc")
  process.on("SIGUSR2", () => {
    Bun.gc(true)
    const s = heapStats()
    appendFileSync(heapFile, JSON.stringify({
      at: Date.now(),
      heapSize: s.heapSize,
      extraMemorySize: s.extraMemorySize,
      objectCount: s.objectCount,
      rss: process.memoryUsage().rss,
      types: s.objectTypeCounts
    }) + "\n")
  })
}
