/**
 * Bounds on tenant-aimed outbound HTTP requests in flight in this process, per tenant and in all.
 *
 * Why: Bun's `fetch` runs at most `BUN_CONFIG_MAX_HTTP_REQUESTS` requests at once per process
 * (256 by default; the platform starts with more, see HttpClientPool.ts) and queues the rest,
 * whoever sent them. A tenant whose agent endpoint answers slowly (up to the delivery's 30 s
 * attempt timeout), or whose MCP servers hold event streams open, could fill that pool and
 * stall every other outbound request of the process: other tenants' deliveries, tool calls and
 * the platform's own model calls. Measured before this bound: 300 asynchronous orchestrator
 * messages from one project to an agent that answers after 15 s made another project's routed
 * message take 13.7 s instead of 0.1 s (41 ms with these bounds).
 *
 * A request holds its slots from before it is sent until its response body is read to the end,
 * cancelled or errored, or its request fails or is aborted (an event stream holds them while it
 * stays open). Requests over a bound wait, first come first served, until a slot frees or their
 * caller's signal aborts (its timeout). Requests that name no tenant are bounded by the total only.
 */

/** Given back once, whatever ends the request first. */
export type Release = () => void

interface Gate {
  used: number
  readonly waiting: Array<Waiter>
}

interface Waiter {
  readonly grant: () => void
}

export interface EgressSlotsOptions {
  /** Requests of one tenant in flight at once. */
  readonly perTenant: number
  /** Tenant-aimed requests in flight at once in all, kept below Bun's pool so the platform's own calls always find room. */
  readonly total: number
}

const abortError = (signal: AbortSignal) =>
  signal.reason instanceof Error ? signal.reason : new DOMException("The operation was aborted.", "AbortError")

export const makeEgressSlots = (options: EgressSlotsOptions) => {
  const tenants = new Map<string, Gate>()
  const all: Gate = { used: 0, waiting: [] }

  const take = (gate: Gate, limit: number, signal: AbortSignal | undefined): Promise<void> | undefined => {
    if (gate.used < limit && gate.waiting.length === 0) {
      gate.used++
      return undefined
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort)
          gate.used++
          resolve()
        }
      }
      const onAbort = () => {
        const at = gate.waiting.indexOf(waiter)
        if (at >= 0) gate.waiting.splice(at, 1)
        reject(abortError(signal!))
      }
      if (signal?.aborted) return reject(abortError(signal))
      signal?.addEventListener("abort", onAbort, { once: true })
      gate.waiting.push(waiter)
    })
  }

  const give = (gate: Gate, limit: number) => {
    gate.used--
    if (gate.used < limit) gate.waiting.shift()?.grant()
  }

  const tenantGate = (tenant: string) => {
    let gate = tenants.get(tenant)
    if (gate === undefined) {
      gate = { used: 0, waiting: [] }
      tenants.set(tenant, gate)
    }
    return gate
  }

  /** Forgets a tenant with nothing in flight or waiting: the map stays as small as the traffic. */
  const forgetIfIdle = (tenant: string, gate: Gate) => {
    if (gate.used === 0 && gate.waiting.length === 0) tenants.delete(tenant)
  }

  /** Gives the tenant's slot back. */
  const giveTenant = (tenant: string, gate: Gate) => {
    give(gate, options.perTenant)
    forgetIfIdle(tenant, gate)
  }

  /**
   * Waits for a slot of `tenant` (when named), then one of the total; resolves with the release.
   * Rejects with the signal's reason if it aborts first, holding nothing.
   */
  const acquire = async (tenant: string | undefined, signal?: AbortSignal): Promise<Release> => {
    if (signal?.aborted) throw abortError(signal)
    const gate = tenant === undefined ? undefined : tenantGate(tenant)
    if (gate !== undefined) {
      try {
        await take(gate, options.perTenant, signal)
      } catch (e) {
        forgetIfIdle(tenant!, gate)
        throw e
      }
    }
    try {
      await take(all, options.total, signal)
    } catch (e) {
      if (gate !== undefined) giveTenant(tenant!, gate)
      throw e
    }
    let released = false
    return () => {
      if (released) return
      released = true
      give(all, options.total)
      if (gate !== undefined) giveTenant(tenant!, gate)
    }
  }

  return {
    acquire,
    /** In flight and waiting, for tests and metrics. */
    stats: (tenant?: string) => {
      const gate = tenant === undefined ? all : tenants.get(tenant)
      return { inFlight: gate?.used ?? 0, waiting: gate?.waiting.length ?? 0 }
    }
  } as const
}

/**
 * A response dropped with its body neither read to the end nor cancelled would hold its slots
 * for good: given back when it is collected (a bug's cost is then a delay, not a lost slot).
 */
const unreleased = new FinalizationRegistry<Release>((release) => release())

/**
 * `res` whose body, once read to the end, cancelled or errored (or `signal` aborted), calls
 * `release`; at once when it has no body. The caller's view is unchanged (status, headers, url).
 */
export const releasingWithBody = (res: Response, release: Release, signal: AbortSignal | undefined): Response => {
  const body = res.body
  if (body === null) {
    release()
    return res
  }
  const reader = body.getReader()
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  // The caller's reads fail with the abort, as fetch's own body does (not an early end).
  const onAbort = () => {
    release()
    const reason = abortError(signal!)
    try {
      controller?.error(reason)
    } catch {
      // Already closed or errored.
    }
    reader.cancel(reason).catch(() => undefined)
  }
  const finish = () => {
    signal?.removeEventListener("abort", onAbort)
    release()
  }
  const wrapped = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
    },
    async pull(controller) {
      try {
        const { value, done } = await reader.read()
        if (done) {
          finish()
          controller.close()
        } else {
          controller.enqueue(value)
        }
      } catch (e) {
        finish()
        controller.error(e)
      }
    },
    cancel(reason) {
      finish()
      return reader.cancel(reason)
    }
  }, { highWaterMark: 0 })
  if (signal?.aborted) onAbort()
  else signal?.addEventListener("abort", onAbort, { once: true })
  const out = new Response(wrapped, { status: res.status, statusText: res.statusText, headers: res.headers })
  unreleased.register(out, release)
  // A constructed Response has no url; callers resolve relative Locations (and the MCP SDK its endpoint) against it.
  Object.defineProperty(out, "url", { value: res.url })
  return out
}
