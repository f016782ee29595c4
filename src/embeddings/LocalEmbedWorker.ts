/**
 * Worker thread for the local embedder: tokenisation and pooling in
 * transformers.js are JavaScript, and onnxruntime runs beside them; off the
 * main thread they no longer stall the HTTP server or the embedded database
 * (which shares the main thread), and ingestion overlaps embedding with writes.
 *
 * Protocol: { type: "init", root, id, build } once → { type: "ready" } | { type: "error" };
 * then { type: "embed", requestId, texts } → { type: "result", requestId, data } (transferred).
 */
import { env, type FeatureExtractionPipeline, pipeline } from "@huggingface/transformers"
import { ensureGloveModel, GLOVE_MODEL_ID } from "./model/GloveModel.ts"

declare const self: Worker

type Request =
  | { readonly type: "init"; readonly root: string; readonly id: string; readonly build: boolean }
  | { readonly type: "embed"; readonly requestId: number; readonly texts: Array<string> }

let extractor: FeatureExtractionPipeline | undefined

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

self.onmessage = async (event: MessageEvent<Request>) => {
  const request = event.data
  if (request.type === "init") {
    try {
      if (request.build) ensureGloveModel(request.root)
      // Offline only: a missing file is an error, never a download.
      env.allowRemoteModels = false
      env.allowLocalModels = true
      env.localModelPath = request.root
      extractor = await pipeline("feature-extraction", request.id, {
        dtype: "fp32",
        local_files_only: true,
        // onnxruntime's intra-op pool (one thread per core) spins between runs: with the GloVe model (a
        // lookup and a mean, nothing to parallelise) its second thread burned ~0.6 ms of CPU per chunk
        // that ingestion's database writes needed on a 2-core machine. Larger models keep the pool
        // but do not spin.
        session_options: request.id === GLOVE_MODEL_ID
          ? { intraOpNumThreads: 1, interOpNumThreads: 1 }
          : { extra: { "session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0" } }
      })
      self.postMessage({ type: "ready" })
    } catch (e) {
      self.postMessage({ type: "error", message: message(e) })
    }
    return
  }
  try {
    if (extractor === undefined) throw new Error("embedding worker used before init")
    const out = await extractor(request.texts, { pooling: "mean", normalize: true })
    const data = new Float32Array(out.data as Float32Array)
    self.postMessage({ type: "result", requestId: request.requestId, data }, [data.buffer])
  } catch (e) {
    self.postMessage({ type: "result", requestId: request.requestId, error: message(e) })
  }
}
