import { Data, Effect } from "effect"
import { lookup } from "node:dns/promises"
import { canonicalHost, classify, type Cidr, inCidr, type IpAddress, parseCidr, parseIp } from "./Address.ts"
import { EgressConfig } from "./EgressConfig.ts"
import { makeEgressSlots, releasingWithBody } from "./EgressSlots.ts"

/**
 * The one text every refusal and every connection failure shows: a caller
 * cannot tell a refused destination from a closed port or an unknown host,
 * so outbound features do not work as a port scanner.
 */
export const EGRESS_REFUSED = "destination not allowed or unreachable"

/** An outbound destination was refused or could not be reached. `reason` is for logs only, never the wire. */
export class EgressDenied extends Data.TaggedError("EgressDenied")<{
  readonly reason: string
  /** The destination passed the policy but the connection failed: worth a retry, unlike a refusal. */
  readonly unreachable?: boolean
}> {
  override get message() {
    return EGRESS_REFUSED
  }
}

/** A destination that passed the policy: connect to `address`, never re-resolve `host`. */
export interface CheckedDestination {
  readonly host: string
  readonly port: number
  readonly address: string
  readonly family: 4 | 6
}

type AllowEntry =
  | { readonly kind: "cidr"; readonly cidr: Cidr; readonly port: number | undefined }
  | { readonly kind: "host"; readonly pattern: string; readonly port: number | undefined }

const portOf = (text: string | undefined) =>
  text === undefined ? undefined : /^\d{1,5}$/.test(text) && Number(text) <= 65535 ? Number(text) : NaN

/** `host`, `*.domain`, `a.b.c.d`, `cidr`, `[v6]`, `v6`, each with an optional `:port`. Unparseable entries admit nothing. */
export const parseAllowEntry = (raw: string): AllowEntry | undefined => {
  const entry = raw.trim().toLowerCase()
  let target = entry
  let port: number | undefined = undefined
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
  if (bracketed) {
    ;[target, port] = [bracketed[1], portOf(bracketed[2])]
  } else if (entry.split(":").length === 2) {
    const [h, p] = entry.split(":")
    ;[target, port] = [h, portOf(p)]
  }
  if (Number.isNaN(port) || target === "") return undefined
  if (target.includes("/") || parseIp(target) !== undefined) {
    const cidr = parseCidr(target)
    return cidr && { kind: "cidr", cidr, port }
  }
  if (target.startsWith("*.")) return { kind: "host", pattern: target, port }
  const host = canonicalHost(target)
  if (host === undefined) return undefined
  // A numeric spelling of an address (127.1) is that address.
  const ip = parseIp(host)
  return ip ? { kind: "cidr", cidr: { ...ip, prefix: ip.family === 4 ? 32 : 128 }, port } : { kind: "host", pattern: host, port }
}

const hostMatches = (pattern: string, host: string) =>
  pattern.startsWith("*.") ? host.endsWith(pattern.slice(1)) : host === pattern

/** Does the operator allow-list admit `address` reached as `host:port`? */
export const admits = (entries: ReadonlyArray<AllowEntry>, host: string, port: number, ip: IpAddress) =>
  entries.some((e) =>
    (e.port === undefined || e.port === port) && (e.kind === "cidr" ? inCidr(ip, e.cidr) : hostMatches(e.pattern, host))
  )

const REDIRECTS = new Set([301, 302, 303, 307, 308])
/** Headers that must not follow a redirect to another origin (as browsers do). */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"]

export interface EgressFetchOptions {
  /** A caller's own rule on top of the policy (e.g. http_fetch's host list), checked on every hop; throw to refuse. */
  readonly beforeHop?: (url: URL) => void
  /**
   * The tenant (project) the request is made for: it then counts against that tenant's share
   * of outbound requests in flight (EGRESS_MAX_CONCURRENT_PER_TENANT) besides the total.
   */
  readonly tenant?: string
}

/**
 * The one egress policy of the platform. Every outbound HTTP request and
 * database connection a tenant can aim (tools, workflow steps, webhooks,
 * push notifications, agent cards, MCP over HTTP, SQL hosts) goes through
 * it: the host is resolved, each address must be public or admitted by the
 * operator's allow-list (EGRESS_ALLOW), and the caller connects to the
 * address that was checked, so a DNS answer that changes between check and
 * connect (rebinding) does not matter.
 */
export class EgressPolicy extends Effect.Service<EgressPolicy>()("Net/EgressPolicy", {
  effect: Effect.gen(function*() {
    const config = yield* EgressConfig
    const entries = config.allow.flatMap((raw) => {
      const parsed = parseAllowEntry(raw)
      return parsed ? [parsed] : []
    })
    const ignored = config.allow.filter((raw) => parseAllowEntry(raw) === undefined)
    if (ignored.length > 0) yield* Effect.logWarning("EGRESS_ALLOW entries ignored (not a host, address or CIDR)", ignored)

    const resolve = async (host: string): Promise<ReadonlyArray<string>> => {
      if (parseIp(host) !== undefined) return [host]
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new EgressDenied({ reason: "name resolution timed out" })), config.resolveTimeoutMs)
      })
      try {
        const found = await Promise.race([lookup(host, { all: true, verbatim: true }), timeout])
        return found.map((a) => a.address)
      } catch (e) {
        throw e instanceof EgressDenied ? e : new EgressDenied({ reason: `cannot resolve ${host}` })
      } finally {
        clearTimeout(timer)
      }
    }

    /** Promise form of `checkHost`: rejects with `EgressDenied`. */
    const checkHostAsync = async (rawHost: string, port: number): Promise<CheckedDestination> => {
      const host = canonicalHost(rawHost)
      if (host === undefined) throw new EgressDenied({ reason: "invalid host" })
      if (!(Number.isInteger(port) && port > 0 && port <= 65535)) throw new EgressDenied({ reason: "invalid port" })
      const addresses = await resolve(host)
      // Any admitted address will do: the connection goes to the one returned, never to the others.
      const admitted = addresses.flatMap((text) => {
        const ip = parseIp(text)
        return ip && (classify(ip) === "public" || admits(entries, host, port, ip)) ? [{ text, ip }] : []
      }).sort((a, b) => a.ip.family - b.ip.family)
      if (admitted.length === 0) throw new EgressDenied({ reason: `${host} resolves to no allowed address` })
      return { host, port, address: admitted[0].text, family: admitted[0].ip.family }
    }

    const urlOf = (input: string | URL): URL => {
      try {
        return new URL(input)
      } catch {
        throw new EgressDenied({ reason: "invalid URL" })
      }
    }

    /** Promise form of `check`: rejects with `EgressDenied`. */
    const checkUrlAsync = async (input: string | URL) => {
      const url = urlOf(input)
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new EgressDenied({ reason: `scheme ${url.protocol}` })
      const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port)
      return { url, destination: await checkHostAsync(url.hostname, port) }
    }

    /** The request `url` sent to the checked address: same path, Host header and TLS name of the original host. */
    const pinnedRequest = (url: URL, to: CheckedDestination, init: RequestInit, headers: Headers): [URL, RequestInit] => {
      const pinned = new URL(url)
      pinned.hostname = to.family === 6 ? `[${to.address}]` : to.address
      const named = parseIp(url.hostname) === undefined
      const out = new Headers(headers)
      out.set("host", url.host)
      return [pinned, {
        ...init,
        headers: out,
        redirect: "manual",
        // The caller's TLS options (a CA) stay; the certificate is checked against the name, not the IP.
        ...(url.protocol === "https:" && named ? { tls: { ...(init as { tls?: object }).tls, serverName: to.host } } : {})
      } as RequestInit]
    }

    /** A GET that accepts only an event stream (the MCP SDK's server-to-client stream): open while its session lives. */
    const opensStream = (input: Request | string | URL, init: RequestInit | undefined) => {
      const method = init?.method ?? (input instanceof Request ? input.method : "GET")
      if (method.toUpperCase() !== "GET") return false
      const accept = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get("accept")
      return accept !== null && accept.trim().toLowerCase() === "text/event-stream"
    }

    const bodyOf = async (input: Request | string | URL, init: RequestInit | undefined) =>
      input instanceof Request && init?.body === undefined && input.body !== null ? await input.arrayBuffer() : init?.body

    const requests = makeEgressSlots({ perTenant: config.maxConcurrentPerTenant, total: config.maxConcurrent })
    const streams = makeEgressSlots({ perTenant: config.maxStreamsPerTenant, total: config.maxStreams })

    /**
     * `fetch` under the policy: every hop checked and pinned, redirects
     * followed here unless the caller asked for `redirect: "manual"` (http/https
     * only, at most EGRESS_MAX_REDIRECTS), every
     * refusal and network failure an `EgressDenied`. Aborts pass through
     * unchanged so callers still tell a timeout from a refusal. The request
     * waits for its slots first (EgressSlots.ts; an event stream for those of
     * streams) and holds them until its response body ends.
     */
    const egressFetch = async (
      input: Request | string | URL,
      init?: RequestInit,
      options: EgressFetchOptions = {}
    ): Promise<Response> => {
      const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined
      const release = await (opensStream(input, init) ? streams : requests).acquire(options.tenant, signal)
      let res: Response
      try {
        res = await followHops(input, init, options, signal)
      } catch (e) {
        release()
        throw e
      }
      return releasingWithBody(res, release, signal)
    }

    /** The hops of one request: each checked, pinned and sent, until an answer that is not a redirect to follow. */
    const followHops = async (
      input: Request | string | URL,
      init: RequestInit | undefined,
      options: EgressFetchOptions,
      signal: AbortSignal | undefined
    ): Promise<Response> => {
      let url = urlOf(input instanceof Request ? input.url : input)
      let method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase()
      let headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
      let body = await bodyOf(input, init)
      for (let hop = 0; hop <= config.maxRedirects; hop++) {
        options.beforeHop?.(url)
        const { destination } = await checkUrlAsync(url)
        const [pinned, pinnedInit] = pinnedRequest(url, destination, { ...init, method, body, signal }, headers)
        let res: Response
        try {
          res = await fetch(pinned, pinnedInit)
        } catch (e) {
          if (signal?.aborted) throw e
          throw new EgressDenied({ reason: `connection to ${destination.host}:${destination.port} failed`, unreachable: true })
        }
        const location = res.headers.get("location")
        // A caller that follows redirects itself (the MCP SDK) gets them as they are; its next hop comes back here.
        if (!REDIRECTS.has(res.status) || location === null || init?.redirect === "manual") return res
        await res.body?.cancel().catch(() => undefined)
        if (init?.redirect === "error") throw new EgressDenied({ reason: "redirect refused by the caller" })
        const next = (() => {
          try {
            return new URL(location, url)
          } catch {
            throw new EgressDenied({ reason: "invalid redirect location" })
          }
        })()
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
          if (method !== "HEAD") method = "GET"
          body = undefined
          headers.delete("content-type")
          headers.delete("content-length")
        } else if (body instanceof ReadableStream) {
          throw new EgressDenied({ reason: "cannot replay a streamed body on redirect" })
        }
        if (next.origin !== url.origin) {
          headers = new Headers(headers)
          for (const h of CREDENTIAL_HEADERS) headers.delete(h)
        }
        url = next
      }
      throw new EgressDenied({ reason: "too many redirects" })
    }

    const refused = (e: unknown) => (e instanceof EgressDenied ? e : new EgressDenied({ reason: String(e) }))
    // The reason stays in the operator's logs; callers only ever show EGRESS_REFUSED.
    const logged = <A>(effect: Effect.Effect<A, EgressDenied>) =>
      Effect.tapError(effect, (e) => Effect.logDebug("egress refused").pipe(Effect.annotateLogs({ reason: e.reason })))

    return {
      /** Checks a URL (http/https only) and returns the address to connect to. */
      check: (url: string | URL): Effect.Effect<CheckedDestination, EgressDenied> =>
        logged(Effect.tryPromise({ try: () => checkUrlAsync(url).then((r) => r.destination), catch: refused })),
      /** Checks a host and port for a non-HTTP connection (databases) and returns the address to connect to. */
      checkHost: (host: string, port: number): Effect.Effect<CheckedDestination, EgressDenied> =>
        logged(Effect.tryPromise({ try: () => checkHostAsync(host, port), catch: refused })),
      /** A drop-in `fetch` for libraries that take one (MCP SDK, @effect/platform's FetchHttpClient). */
      fetch: egressFetch as typeof globalThis.fetch,
      /** The drop-in `fetch` for requests made for `tenant` (its share of requests in flight, see EgressSlots.ts). */
      fetchFor: (tenant: string): typeof globalThis.fetch =>
        ((input: Request | string | URL, init?: RequestInit) => egressFetch(input, init, { tenant })) as typeof globalThis.fetch,
      /** `fetch` with per-call options, for the platform's own outbound calls. */
      fetchWith: egressFetch
    } as const
  })
}) {}
