import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api"
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base"
import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { RPC_SYSTEM, ServerSpanSampling, SpanBuffer, StoringSpanProcessor } from "../../src/observability/SpanSink.ts"

/** Which spans StoringSpanProcessor hands to the SQL store when trivial requests are sampled out. */
const setup = async (sampling: ConstructorParameters<typeof StoringSpanProcessor>[1] = { trivialRatio: 0, slowMs: 250 }) => {
  const buffer = await Effect.runPromise(Effect.provide(SpanBuffer, SpanBuffer.Default))
  const provider = new BasicTracerProvider({
    spanProcessors: [new StoringSpanProcessor(buffer, sampling)]
  })
  const tracer = provider.getTracer("test")
  const stored = async () => (await Effect.runPromise(buffer.drain)).map((r) => r.operation)
  const request = (name: string, status: number, options: { error?: boolean; child?: boolean; traceparent?: boolean } = {}) => {
    const parent = options.traceparent
      ? trace.setSpanContext(context.active(), {
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        traceFlags: 1,
        isRemote: true
      })
      : context.active()
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent)
    if (options.child) tracer.startSpan(`${name} child`, {}, trace.setSpan(context.active(), span)).end()
    span.setAttribute("http.response.status_code", status)
    if (options.error) span.setStatus({ code: SpanStatusCode.ERROR, message: "boom" })
    return span
  }
  return { request: (...args: Parameters<typeof request>) => request(...args).end(), started: request, stored }
}

describe("span storage sampling", () => {
  test("a fast successful root request with no child span is not stored at ratio 0", async () => {
    const { request, stored } = await setup()
    request("GET /auth/me", 200)
    expect(await stored()).toEqual([])
  })

  test("errors, 4xx, requests that did traced work and requests joining a remote trace are stored", async () => {
    const { request, stored } = await setup()
    request("GET /a", 500, { error: true })
    request("GET /b", 401)
    request("GET /c", 200, { child: true })
    request("GET /d", 200, { traceparent: true })
    expect((await stored()).sort()).toEqual(["GET /a", "GET /b", "GET /c", "GET /c child", "GET /d"])
  })

  test("a draw made before the span (the HTTP fast path's) is the store's: not drawn again", async () => {
    // Ratio 0 would drop every trivial span, ratio 1 keep every one: the earlier draw decides.
    for (const [ratio, drawn] of [[0, true], [1, false]] as const) {
      const sampling = new ServerSpanSampling(ratio, 250, false)
      const { started, stored } = await setup(sampling)
      const span = started("GET /auth/me", 200)
      sampling.endDrawn(span.spanContext().spanId, drawn, () => span.end())
      // Without a draw made, the ratio decides.
      started("GET /other", 200).end()
      expect(await stored()).toEqual([...(drawn ? ["GET /auth/me"] : []), ...(ratio === 1 ? ["GET /other"] : [])])
    }
  })

  test("an RPC call is sampled as a request: under its socket's span, a trivial call is not stored; a failed one is", async () => {
    const buffer = await Effect.runPromise(Effect.provide(SpanBuffer, SpanBuffer.Default))
    const provider = new BasicTracerProvider({ spanProcessors: [new StoringSpanProcessor(buffer, { trivialRatio: 0, slowMs: 250 })] })
    const tracer = provider.getTracer("test")
    const socket = tracer.startSpan("http.server GET", { kind: SpanKind.SERVER })
    const call = (name: string, error: boolean) => {
      const span = tracer.startSpan(name, { attributes: { "rpc.system": RPC_SYSTEM } }, trace.setSpan(context.active(), socket))
      if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: "boom" })
      span.end()
    }
    call("RpcServer.Ping", false)
    call("RpcServer.GetJob", true)
    socket.setAttribute("http.response.status_code", 101)
    socket.end()
    expect((await Effect.runPromise(buffer.drain)).map((r) => r.operation).sort()).toEqual(["RpcServer.GetJob", "http.server GET"])
  })
})
