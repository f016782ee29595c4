import { Effect } from "effect"
import { type ToolResult, ToolExecutionFailed, ToolTimeout } from "../domain/Tool.ts"
import { EGRESS_REFUSED, EgressPolicy } from "../net/EgressPolicy.ts"
import { readCapped } from "../net/ReadCapped.ts"

export interface HttpCallInput {
  readonly tool: string
  readonly url: string
  readonly method: string
  readonly headers: Record<string, string>
  readonly body?: string
  readonly timeoutMs: number
  readonly maxBytes: number
  /** The caller's own host list on top of the egress policy, checked on every hop. */
  readonly allow?: (url: URL) => boolean
  /** The project the call is made for: its share of outbound requests in flight (EgressSlots.ts). */
  readonly projectId: string
}

/** A hop outside the caller's host list: the tool answers it as a refusal the model can read. */
class OutsideAllowList extends Error {}

/**
 * One outbound HTTP request of a tool, normalised to a `ToolResult`: a non-2xx
 * answer is a tool-level error (`isError`, the model sees it); a destination
 * the egress policy refuses or cannot reach is a failed execution with the
 * policy's one generic text; silence past the budget is a timeout.
 */
export const httpCall = (
  input: HttpCallInput
): Effect.Effect<ToolResult, ToolExecutionFailed | ToolTimeout, EgressPolicy> =>
  Effect.flatMap(EgressPolicy, (egress) =>
    Effect.tryPromise({
      try: async (signal) => {
        try {
          const res = await egress.fetchWith(input.url, {
            method: input.method,
            headers: input.headers,
            ...(input.body !== undefined ? { body: input.body } : {}),
            signal
          }, {
            tenant: input.projectId,
            beforeHop: (url) => {
              if (input.allow && !input.allow(url)) throw new OutsideAllowList(url.host === "" ? url.protocol : url.host)
            }
          })
          const { text, truncated } = await readCapped(res, input.maxBytes)
          return { status: res.status, contentType: res.headers.get("content-type") ?? "", text, truncated } as const
        } catch (e) {
          if (e instanceof OutsideAllowList) return { blocked: `${e.message} is not in the allow-list` } as const
          throw e
        }
      },
      // Never the underlying error: it would tell a closed port from a refused one.
      catch: () => new ToolExecutionFailed({ tool: input.tool, message: `request failed: ${EGRESS_REFUSED}` })
    })).pipe(
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
