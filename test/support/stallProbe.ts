/**
 * Measures how long this process's event loop is blocked: a 10 ms timer
 * records the largest delay past its due time. The platform under test runs
 * in this process (startPlatform), so this is the platform's stall.
 */
export const startStallProbe = () => {
  let last = performance.now()
  let maxStallMs = 0
  const timer = setInterval(() => {
    const now = performance.now()
    maxStallMs = Math.max(maxStallMs, now - last - 10)
    last = now
  }, 10)
  return {
    /** Stops the probe; the largest stall seen, in ms. */
    stop: () => {
      clearInterval(timer)
      return maxStallMs
    }
  }
}

/** Resident set size of this process, in MB. */
export const rssMb = () => process.memoryUsage.rss() / 1024 / 1024
