import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, Multipart, OpenApi } from "@effect/platform"
import { bodyProblemMessage, jsonTextProblem } from "../../kernel/JsonText.ts"
import { Schema } from "effect"
import { Authentication } from "./Authentication.ts"
import { BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, TooManyRequests } from "../../kernel/WireErrors.ts"
import { DocumentView, SearchRequest, SearchResult } from "../Rag.ts"

export { DocumentView }

/** 415: not a PDF, DOCX, TXT, Markdown or HTML file. */
export class UnsupportedDocumentType extends Schema.TaggedError<UnsupportedDocumentType>()(
  "UnsupportedDocumentType",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 415 })
) {}

/** 422: a supported type, but empty, corrupt or password-protected. */
export class UnprocessableDocument extends Schema.TaggedError<UnprocessableDocument>()(
  "UnprocessableDocument",
  { message: Schema.String, reason: Schema.Literal("Empty", "Corrupt", "Encrypted") },
  HttpApiSchema.annotations({ status: 422 })
) {}

export const UploadAccepted = Schema.Struct({
  document: DocumentView,
  /** True when the same content was already in the project: the existing document is returned. */
  deduplicated: Schema.Boolean
})

export const UploadForm = HttpApiSchema.Multipart(
  Schema.Struct({
    projectId: Schema.String.pipe(Schema.minLength(1)),
    file: Multipart.SingleFileSchema,
    /** Optional JSON object stored with the document. */
    metadata: Schema.optional(
      Schema.String.pipe(
        // A form field skips the JSON body guard: no NUL (Postgres jsonb) nor deep nesting here either.
        Schema.filter((text) => {
          const problem = jsonTextProblem(text)
          return problem === undefined || bodyProblemMessage(problem, "metadata")
        }),
        Schema.compose(Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown })))
      )
    )
  })
)

export const EmbeddingStats = Schema.Struct({
  projectId: Schema.String,
  modelId: Schema.String,
  provider: Schema.String,
  dimension: Schema.Number,
  documents: Schema.Number,
  readyDocuments: Schema.Number,
  chunks: Schema.Number,
  collections: Schema.Array(Schema.Struct({
    id: Schema.String,
    modelId: Schema.String,
    dimension: Schema.Number,
    documents: Schema.Number,
    chunks: Schema.Number,
    /** False when the collection was built by another model than the one configured now. */
    searchable: Schema.Boolean
  })),
  cache: Schema.Struct({
    persistentEntries: Schema.Number,
    memoryEntries: Schema.Number,
    hits: Schema.Number,
    textsEmbedded: Schema.Number,
    batches: Schema.Number
  })
})

const Unavailable = ServiceUnavailable

/** Document ingestion and retrieval, per project. */
export class RagApi extends HttpApiGroup.make("rag")
  .add(
    HttpApiEndpoint.post("uploadDocument", "/rag/documents")
      .setPayload(UploadForm)
      .addSuccess(UploadAccepted, { status: 202 })
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(PayloadTooLarge)
      .addError(UnsupportedDocumentType)
      .addError(UnprocessableDocument)
      .addError(Unavailable)
      .addError(Conflict)
      .addError(TooManyRequests)
  )
  .add(
    HttpApiEndpoint.get("listDocuments", "/rag/documents")
      .setUrlParams(Schema.Struct({
        projectId: Schema.optional(Schema.String),
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500))),
        offset: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative()))
      }))
      .addSuccess(Schema.Struct({ documents: Schema.Array(DocumentView) }))
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.get("getDocument", "/rag/documents/:id")
      .setPath(Schema.Struct({ id: Schema.String }))
      .addSuccess(DocumentView)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.del("deleteDocument", "/rag/documents/:id")
      .setPath(Schema.Struct({ id: Schema.String }))
      .addSuccess(Schema.Void, { status: 204 })
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.post("query", "/rag/query")
      .setPayload(SearchRequest)
      .addSuccess(SearchResult)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(Unavailable)
  )
  .add(
    HttpApiEndpoint.get("embeddingStats", "/rag/embeddings/stats")
      .setUrlParams(Schema.Struct({ projectId: Schema.String }))
      .addSuccess(EmbeddingStats)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(Unavailable)
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "RAG: upload PDF/DOCX/TXT/Markdown/HTML documents, hybrid (full-text + vector) retrieval")
{}
