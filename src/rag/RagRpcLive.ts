import { Effect, Layer } from "effect"
import { RagRpcs } from "../../rpc/RagRpcs.ts"
import { requireProjectRole, visibleProjectIds } from "../auth/ProjectAccess.ts"
import { queryRag, visibleDocument } from "./RagAccess.ts"
import { RagRepo } from "./RagRepo.ts"

/** `rag.*` RPCs: the REST handlers' reads (src/rag/RagAccess.ts); uploads stay REST (multipart). */
export const RagRpcLive = RagRpcs.toLayer(
  Effect.gen(function*() {
    const repo = yield* RagRepo
    return RagRpcs.of({
      "rag.query": (request) => queryRag(request),
      "rag.listDocuments": ({ projectId, limit, offset }) =>
        Effect.gen(function*() {
          const ids = projectId === undefined ? yield* visibleProjectIds : yield* Effect.as(requireProjectRole(projectId, "viewer"), [projectId])
          return yield* repo.list(ids, { limit, offset })
        }),
      "rag.getDocument": ({ id }) => visibleDocument(id)
    })
  })
).pipe(Layer.provide(RagRepo.Default))
