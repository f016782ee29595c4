import { Layer } from "effect"
import { A2AFlowRecorderLive, A2AFlowStore } from "./A2AFlowStore.ts"
import { AlertEvaluatorLive } from "./AlertEvaluator.ts"
import { AlertRepo } from "./AlertRepo.ts"
import { MetricsExposition } from "./MetricsExposition.ts"
import { SpanBuffer } from "./SpanSink.ts"
import { TraceStore } from "./TraceStore.ts"
import { TraceWriterLive, TracingLive } from "./Tracing.ts"

/**
 * Observability infrastructure of a platform process: the OTel tracer (set
 * for every layer built after this one), the SQL span writer, the
 * `A2AFlowRecorder` other services record hops with, and the alert evaluator.
 * Needs AppConfig and SqlClient.
 */
export const ObservabilityLive = Layer.mergeAll(TracingLive, TraceWriterLive, A2AFlowRecorderLive, AlertEvaluatorLive).pipe(
  Layer.provideMerge(
    Layer.mergeAll(SpanBuffer.Default, TraceStore.Default, A2AFlowStore.Default, AlertRepo.Default, MetricsExposition.Default)
  )
)
