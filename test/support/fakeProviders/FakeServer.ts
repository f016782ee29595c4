/**
 * Shared plumbing of the fake provider servers: a script of turns consumed one
 * per request, a log of received requests, and SSE framing. Each fake speaks
 * its provider's real wire format so the real SDKs parse it.
 */
export type FakeTurn =
  | { readonly kind: "text"; readonly text: string; readonly usage?: { input: number; output: number }; readonly chunkDelayMs?: number }
  | { readonly kind: "tools"; readonly calls: ReadonlyArray<{ name: string; args: unknown }>; readonly text?: string }
  | { readonly kind: "error"; readonly status: number }
  /** Holds the response open for `ms` before answering with `then`. */
  | { readonly kind: "delay"; readonly ms: number; readonly then: FakeTurn }

export interface ReceivedRequest {
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: any
}

export interface FakeProvider {
  readonly baseUrl: string
  readonly received: Array<ReceivedRequest>
  /** Appends turns; when the script is empty the fake echoes the last user text. */
  readonly script: (...turns: ReadonlyArray<FakeTurn>) => void
  readonly reset: () => void
  readonly stop: () => void
}

export const sse = (frames: ReadonlyArray<string>, delayMs = 0) => {
  const encoder = new TextEncoder()
  return new Response(
    new ReadableStream({
      async start(controller) {
        for (const frame of frames) {
          controller.enqueue(encoder.encode(frame))
          if (delayMs > 0) await Bun.sleep(delayMs)
        }
        controller.close()
      }
    }),
    { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } }
  )
}

/** Splits text into a few chunks so streaming is really exercised. */
export const chunks = (text: string) => text.split(/(?<= )/)

export const makeFakeServer = (
  handle: (turn: FakeTurn, request: ReceivedRequest, url: URL) => Response | Promise<Response>,
  errorBody: (status: number) => unknown,
  echoText: (body: any) => string
): FakeProvider => {
  const queue: Array<FakeTurn> = []
  const received: Array<ReceivedRequest> = []
  const respond = async (turn: FakeTurn, request: ReceivedRequest, url: URL): Promise<Response> => {
    if (turn.kind === "delay") {
      await Bun.sleep(turn.ms)
      return respond(turn.then, request, url)
    }
    if (turn.kind === "error") {
      return Response.json(errorBody(turn.status), { status: turn.status, headers: { "retry-after": "0" } })
    }
    return handle(turn, request, url)
  }
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url)
      const body = req.method === "POST" ? await req.json() : undefined
      const request: ReceivedRequest = { path: url.pathname, headers: Object.fromEntries(req.headers), body }
      received.push(request)
      const turn = queue.shift() ?? { kind: "text", text: `echo: ${echoText(body)}` }
      return respond(turn, request, url)
    }
  })
  return {
    baseUrl: `http://127.0.0.1:${server.port}`,
    received,
    script: (...turns) => void queue.push(...turns),
    reset: () => {
      queue.length = 0
      received.length = 0
    },
    stop: () => void server.stop(true)
  }
}
