import { Effect, Option } from "effect"
import { CurrentUser } from "../domain/Identity.ts"
import { requireProjectRole } from "../auth/ProjectAccess.ts"
import { NotFound, ServiceUnavailable } from "../kernel/WireErrors.ts"
import { RagRepo } from "./RagRepo.ts"
import { RagSearch, type RagUnavailable } from "./RagSearch.ts"
import type { SearchRequest } from "../domain/Rag.ts"

/** RAG reads shared by REST `/rag` and RPC `rag.*`: one set of checks. */
export const unavailable = (e: RagUnavailable) => new ServiceUnavailable({ message: e.message })

/** A document of a project the caller can see; anything else is NotFound (no existence leak). */
export const visibleDocument = (id: string) =>
  Effect.gen(function*() {
    const user = yield* CurrentUser
    const repo = yield* RagRepo
    const found = yield* repo.findById(id)
    if (Option.isNone(found) || !user.projects.has(found.value.projectId)) {
      return yield* new NotFound({ message: `document ${id} not found` })
    }
    return found.value
  })

export const queryRag = (request: SearchRequest) =>
  Effect.zipRight(
    requireProjectRole(request.projectId, "viewer"),
    Effect.flatMap(RagSearch, (rag) => rag.search(request).pipe(Effect.mapError(unavailable)))
  )
