import { describe, expect, test } from "bun:test"
import { Effect, Layer, Option } from "effect"
import { settingsWith } from "../../src/app/Settings.ts"
import { SpanBuffer } from "../../src/observability/SpanSink.ts"
import { TracingLive } from "../../src/observability/Tracing.ts"

interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }
    scopeSpans: Array<{ spans: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string }> }>
  }>
}

describe("OTLP export", () => {
  test("with OTEL_EXPORTER_OTLP_ENDPOINT set, spans are POSTed to <endpoint>/v1/traces and also buffered for SQL", async () => {
    const exports: Array<{ path: string; contentType: string | null; body: OtlpExport }> = []
    const collector = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        exports.push({ path: new URL(req.url).pathname, contentType: req.headers.get("content-type"), body: await req.json() })
        return Response.json({})
      }
    })
    try {
      const config = settingsWith({
        observability: {
          serviceName: "otlp-test",
          otlpEndpoint: Option.some(`http://127.0.0.1:${collector.port}/`)
        }
      })
      const layer = TracingLive.pipe(Layer.provideMerge(SpanBuffer.Default), Layer.provide(config))
      const { ids, buffered } = await Effect.runPromise(
        Effect.gen(function*() {
          const ids = yield* Effect.gen(function*() {
            const child = yield* Effect.currentSpan.pipe(Effect.withSpan("otlp.child"))
            const parent = yield* Effect.currentSpan
            return { traceId: parent.traceId, parentId: parent.spanId, childId: child.spanId }
          }).pipe(Effect.withSpan("otlp.parent"))
          const buffered = yield* Effect.flatMap(SpanBuffer, (b) => b.drain)
          return { ids, buffered }
        }).pipe(Effect.provide(layer))
      )
      // Shutting the layer down flushed the batch processor.
      expect(exports.length).toBeGreaterThanOrEqual(1)
      expect(exports[0].path).toBe("/v1/traces")
      expect(exports[0].contentType).toContain("application/json")
      const resource = exports[0].body.resourceSpans[0]
      expect(resource.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue).toBe("otlp-test")
      const spans = exports.flatMap((e) => e.body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)))
      const child = spans.find((s) => s.name === "otlp.child")
      expect(child).toMatchObject({ traceId: ids.traceId, spanId: ids.childId, parentSpanId: ids.parentId })
      expect(spans.find((s) => s.name === "otlp.parent")?.spanId).toBe(ids.parentId)
      // The SQL store's buffer got the same spans.
      expect(buffered.map((r) => r.operation).sort()).toEqual(["otlp.child", "otlp.parent"])
      expect(buffered.every((r) => r.service === "otlp-test" && r.traceId === ids.traceId)).toBe(true)
    } finally {
      collector.stop(true)
    }
  }, 30_000)
})
