import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { AgentSkill } from "./AgentCard.ts"

const Id = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))

/** One agent the orchestrator can route to: a remote A2A agent or a platform agent. */
export class RegistryEntry extends Schema.Class<RegistryEntry>("RegistryEntry")({
  id: Schema.String,
  projectId: Schema.String,
  kind: Schema.Literal("local", "remote"),
  name: Schema.String,
  description: Schema.String,
  skills: Schema.Array(AgentSkill),
  /** Remote: the card it was registered from. */
  cardUrl: Schema.NullOr(Schema.String),
  /** Remote: the JSON-RPC endpoint and A2A version messages go to. */
  endpointUrl: Schema.NullOr(Schema.String),
  protocolVersion: Schema.NullOr(Schema.String),
  status: Schema.Literal("available", "unreachable"),
  lastError: Schema.NullOr(Schema.String),
  refreshedAt: Schema.NullOr(Schema.DateTimeUtc)
}) {}

export const RegisterRequest = Schema.Struct({
  projectId: Id,
  cardUrl: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(2000))
})

export const ListQuery = Schema.Struct({
  projectId: Schema.optional(Id),
  kind: Schema.optional(Schema.Literal("local", "remote"))
})

export const SearchQuery = Schema.Struct({
  projectId: Schema.optional(Id),
  /** Free text: matched against names/descriptions, and semantically when embeddings are configured. */
  q: Schema.optional(Schema.String.pipe(Schema.maxLength(1000))),
  tag: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  skill: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)))
})

export const SkillMatch = Schema.Struct({
  agent: RegistryEntry,
  skillId: Schema.NullOr(Schema.String),
  score: Schema.Number,
  matchedBy: Schema.Literal("name", "tag", "semantic")
})

export const SearchResult = Schema.Struct({
  /** Whether semantic matching was applied (false: no Embeddings service, or it did not answer in time). */
  semantic: Schema.Boolean,
  matches: Schema.Array(SkillMatch)
})

/** Hop bookkeeping carried in A2A message metadata (`orchestrator`) to bound delegation chains. */
export const HopMetadata = Schema.Struct({
  hops: Schema.Int.pipe(Schema.nonNegative()),
  visited: Schema.Array(Schema.String)
})
export type HopMetadata = typeof HopMetadata.Type

export const MessageRequest = Schema.Struct({
  projectId: Id,
  to: Id,
  from: Schema.optional(Id),
  text: Schema.String.pipe(Schema.maxLength(100_000)),
  contextId: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  /** Same key twice in a project = the same message (delivered once). */
  idempotencyKey: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
  /** "sync" waits for the reply; "async" answers 202 once the message is persisted. */
  mode: Schema.optional(Schema.Literal("sync", "async")),
  maxAttempts: Schema.optional(Schema.Int.pipe(Schema.between(1, 10))),
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
export type MessageRequest = typeof MessageRequest.Type

export const AgentReply = Schema.Struct({
  text: Schema.String,
  /** The A2A result as the agent sent it (message or task). */
  raw: Schema.Unknown
})
export type AgentReply = typeof AgentReply.Type

export class DeliveryRecord extends Schema.Class<DeliveryRecord>("DeliveryRecord")({
  deliveryId: Schema.String,
  projectId: Schema.String,
  idempotencyKey: Schema.String,
  to: Schema.String,
  from: Schema.NullOr(Schema.String),
  status: Schema.Literal("pending", "delivered", "dead_lettered"),
  attempts: Schema.Int,
  maxAttempts: Schema.Int,
  reply: Schema.NullOr(AgentReply),
  lastError: Schema.NullOr(Schema.String)
}) {}

export class DeadLetter extends Schema.Class<DeadLetter>("DeadLetter")({
  deliveryId: Schema.String,
  projectId: Schema.String,
  to: Schema.String,
  reason: Schema.String,
  attempts: Schema.Int,
  request: Schema.Unknown,
  createdAt: Schema.DateTimeUtc
}) {}

// ---- multi-agent patterns ----

export const DelegateRequest = Schema.Struct({
  projectId: Id,
  from: Id,
  to: Id,
  text: Schema.String.pipe(Schema.maxLength(100_000)),
  /** Forwarded unchanged from the message that caused this delegation (carries the hop count). */
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})

export const Step = Schema.Struct({
  agent: Schema.String,
  input: Schema.String,
  output: Schema.String,
  deliveryId: Schema.String
})

export const DelegateResult = Schema.Struct({ reply: Schema.String, deliveryId: Schema.String, hops: Schema.Int })

export const HandoffRequest = Schema.Struct({
  projectId: Id,
  agents: Schema.Array(Id).pipe(Schema.minItems(1), Schema.maxItems(20)),
  text: Schema.String.pipe(Schema.maxLength(100_000))
})
export const HandoffResult = Schema.Struct({ output: Schema.String, steps: Schema.Array(Step) })

export const FanOutRequest = Schema.Struct({
  projectId: Id,
  agents: Schema.Array(Id).pipe(Schema.minItems(1), Schema.maxItems(20)),
  text: Schema.String.pipe(Schema.maxLength(100_000)),
  /** "concat": replies joined in agent order; "agent": one agent merges them. */
  merge: Schema.Union(
    Schema.Struct({ strategy: Schema.Literal("concat"), separator: Schema.optional(Schema.String) }),
    Schema.Struct({ strategy: Schema.Literal("agent"), agent: Id })
  )
})
export const FanOutResult = Schema.Struct({
  merged: Schema.String,
  branches: Schema.Array(Step),
  mergeStep: Schema.NullOr(Step)
})

export const SuperviseRequest = Schema.Struct({
  projectId: Id,
  supervisor: Id,
  workers: Schema.Array(Id).pipe(Schema.minItems(1), Schema.maxItems(20)),
  text: Schema.String.pipe(Schema.maxLength(100_000)),
  maxSteps: Schema.Int.pipe(Schema.between(1, 50))
})
export const SuperviseResult = Schema.Struct({ output: Schema.String, steps: Schema.Array(Step) })

// ---- errors ----

export class InvalidAgentCard extends Schema.TaggedError<InvalidAgentCard>()(
  "InvalidAgentCard",
  {
    message: Schema.String,
    issues: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
  },
  HttpApiSchema.annotations({ status: 422 })
) {}

export class AgentCardUnreachable extends Schema.TaggedError<AgentCardUnreachable>()(
  "AgentCardUnreachable",
  { message: Schema.String, cardUrl: Schema.String },
  HttpApiSchema.annotations({ status: 422 })
) {}

/** A delegation that would revisit an agent already in the chain, or exceed the hop bound. */
export class DelegationLoop extends Schema.TaggedError<DelegationLoop>()(
  "DelegationLoop",
  { message: Schema.String, visited: Schema.Array(Schema.String), hops: Schema.Int },
  HttpApiSchema.annotations({ status: 409 })
) {}

export class StepLimitExceeded extends Schema.TaggedError<StepLimitExceeded>()(
  "StepLimitExceeded",
  { message: Schema.String, steps: Schema.Array(Step) },
  HttpApiSchema.annotations({ status: 422 })
) {}

/** A pattern step whose message was dead-lettered: the reason is the last delivery error. */
export class DeliveryFailed extends Schema.TaggedError<DeliveryFailed>()(
  "DeliveryFailed",
  { message: Schema.String, deliveryId: Schema.String, to: Schema.String },
  HttpApiSchema.annotations({ status: 502 })
) {}
