import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { DocumentView, SearchRequest, SearchResult } from "../src/domain/Rag.ts"
import { Forbidden, NotFound, ServiceUnavailable } from "../src/kernel/WireErrors.ts"
import { RpcAuthentication } from "./RpcAuthentication.ts"

const Id = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))

/**
 * Retrieval and ingestion status (the same service as REST `/rag`). Uploads
 * stay REST (`POST /rag/documents`, multipart); `getDocument` is how a
 * client follows an ingestion (`status`, `chunksEmbedded` of `chunkCount`).
 */
export class RagRpcs extends RpcGroup.make(
  Rpc.make("query", { payload: SearchRequest, success: SearchResult, error: Schema.Union(NotFound, Forbidden, ServiceUnavailable) }),
  Rpc.make("listDocuments", {
    payload: Schema.Struct({
      projectId: Schema.optional(Id),
      limit: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 500)), { default: () => 100 }),
      offset: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 0 })
    }),
    success: Schema.Array(DocumentView),
    error: Schema.Union(NotFound, Forbidden)
  }),
  Rpc.make("getDocument", { payload: { id: Id }, success: DocumentView, error: NotFound })
).prefix("rag.").middleware(RpcAuthentication) {}
