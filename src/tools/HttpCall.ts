import { Effect } from "effect"
import { type ToolResult, ToolExecutionFailed, ToolTimeout } from "../domain/Tool.ts"

/**
 * Is `url` allowed by the allow-list? Entries: `example.com` (any port),
 * `*.example.com` (subdomains only), `host:port` (that port only), `*` (any).
 * Only http(s) URLs ever pass.
 */
export const isAllowedUrl = (allow: ReadonlyArray<string>, url: URL): boolean => {
  if (url.protocol !== "http:" && url.protocol !== "https:") return false
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "")
  const port = url.port || (url.protocol === "https:" ? "443" : "80")
  return allow.some((raw) => {
    const entry = raw.trim().toLowerCase()
    if (entry === "*") return true
    const portSep = entry.lastIndexOf(":")
    const [pattern, pinned] = portSep > 0 && !entry.includes("]") && entry.indexOf(":") === portSep
      ? [entry.slice(0, portSep), entry.slice(portSep + 1)]
      : [entry, undefined]
    if (pinned !== undefined && pinned !== port) return false
    return pattern.startsWith("*.") ? host.endsWith(pattern.slice(1)) : host === pattern
  })
}

/** Reads at most `maxBytes` of the body: a huge response cannot exhaust memory. */
const readCapped = async (res: Response, maxBytes: number) => {
  if (res.body === null) return { text: "", truncated: false }
  const reader = res.body.getReader()
  const chunks: Array<Uint8Array> = []
  let size = 0
  let truncated = false
  while (true) {
    const { done, value } = await reader.read()
    if (done) break
    if (size + value.byteLength > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size))
      truncated = true
      await reader.cancel().catch(() => undefined)
      break
    }
    chunks.push(value)
    size += value.byteLength
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), truncated }
}

export interface HttpCallInput {
  readonly tool: string
  readonly url: string
  readonly method: string
  readonly headers: Record<string, string>
  readonly body?: string
  readonly timeoutMs: number
  readonly maxBytes: number
  /** Checked on every hop: a redirect cannot escape the allow-list. */
  readonly allow?: (url: URL) => boolean
}

/**
 * One outbound HTTP request of a tool, normalised to a `ToolResult`: a non-2xx
 * answer is a tool-level error (`isError`, the model sees it); an unreachable
 * host is a failed execution; silence past the budget is a timeout.
 */
export const httpCall = (input: HttpCallInput): Effect.Effect<ToolResult, ToolExecutionFailed | ToolTimeout> =>
  Effect.tryPromise({
    try: async (signal) => {
      let url = new URL(input.url)
      for (let hop = 0; hop < 4; hop++) {
        if (input.allow && !input.allow(url)) {
          return { blocked: `${url.host} is not in the allow-list` } as const
        }
        const res = await fetch(url, {
          method: input.method,
          headers: input.headers,
          ...(input.body !== undefined ? { body: input.body } : {}),
          redirect: "manual",
          signal
        })
        const location = res.headers.get("location")
        if (res.status >= 300 && res.status < 400 && location !== null) {
          url = new URL(location, url)
          continue
        }
        const { text, truncated } = await readCapped(res, input.maxBytes)
        return { status: res.status, contentType: res.headers.get("content-type") ?? "", text, truncated } as const
      }
      return { blocked: "too many redirects" } as const
    },
    catch: (e) =>
      new ToolExecutionFailed({
        tool: input.tool,
        message: `request failed: ${e instanceof Error ? e.message : String(e)}`
      })
  }).pipe(
    Effect.timeoutFail({
      duration: input.timeoutMs,
      onTimeout: () =>
        new ToolTimeout({ tool: input.tool, timeoutMs: input.timeoutMs, message: `no response within ${input.timeoutMs} ms` })
    }),
    Effect.map((r): ToolResult => {
      if ("blocked" in r) return { content: [{ type: "text", text: `refused: ${r.blocked}` }], isError: true }
      let structured: unknown = undefined
      if (r.contentType.includes("json") && !r.truncated) {
        try {
          structured = JSON.parse(r.text)
        } catch {
          structured = undefined
        }
      }
      const ok = r.status >= 200 && r.status < 300
      const text = ok ? r.text : `HTTP ${r.status}: ${r.text.slice(0, 2000)}`
      return {
        content: [{ type: "text", text: r.truncated ? `${text}\n[truncated at ${input.maxBytes} bytes]` : text }],
        ...(structured !== undefined ? { structuredContent: structured } : {}),
        isError: !ok
      }
    })
  )
