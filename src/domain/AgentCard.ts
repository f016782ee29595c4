import { Either, ParseResult, Schema } from "effect"

/**
 * The A2A AgentCard as it travels in JSON (A2A v1.0, with the v0.3 shape
 * accepted too), written as Effect Schema: the registry only stores cards that
 * decode. Unknown fields are kept in the stored raw card but not relied upon.
 */
const NonEmpty = Schema.String.pipe(Schema.minLength(1))
const HttpUrl = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      const u = new URL(s)
      return u.protocol === "http:" || u.protocol === "https:" || "must be an http(s) URL"
    } catch {
      return "must be an absolute URL"
    }
  })
)
const Strings = Schema.Array(Schema.String)

export const AgentSkill = Schema.Struct({
  id: NonEmpty,
  name: NonEmpty,
  description: Schema.String,
  tags: Strings,
  examples: Schema.optional(Strings),
  inputModes: Schema.optional(Strings),
  outputModes: Schema.optional(Strings)
})
export type AgentSkill = typeof AgentSkill.Type

export const AgentInterface = Schema.Struct({
  url: HttpUrl,
  protocolBinding: NonEmpty,
  protocolVersion: NonEmpty,
  tenant: Schema.optional(Schema.String)
})
export type AgentInterface = typeof AgentInterface.Type

const AgentCapabilities = Schema.Struct({
  streaming: Schema.optional(Schema.Boolean),
  pushNotifications: Schema.optional(Schema.Boolean),
  extendedAgentCard: Schema.optional(Schema.Boolean)
})

const Common = {
  name: NonEmpty,
  description: Schema.String,
  version: NonEmpty,
  capabilities: Schema.optional(AgentCapabilities),
  defaultInputModes: Strings,
  defaultOutputModes: Strings,
  skills: Schema.Array(AgentSkill),
  provider: Schema.optional(Schema.Struct({ organization: Schema.String, url: Schema.String })),
  documentationUrl: Schema.optional(Schema.String)
}

/** A2A v1.0: endpoints are listed in `supportedInterfaces`, preferred first. */
export const AgentCardV1 = Schema.Struct({
  ...Common,
  supportedInterfaces: Schema.Array(AgentInterface).pipe(Schema.minItems(1))
})

/** A2A v0.3: one main `url` + `preferredTransport`, optional `additionalInterfaces`. */
export const AgentCardV03 = Schema.Struct({
  ...Common,
  url: HttpUrl,
  protocolVersion: NonEmpty,
  preferredTransport: Schema.optional(Schema.String),
  additionalInterfaces: Schema.optional(Schema.Array(Schema.Struct({ url: HttpUrl, transport: Schema.String })))
})

export const AgentCard = Schema.Union(AgentCardV1, AgentCardV03)
export type AgentCard = typeof AgentCard.Type

/** What the registry routes to: one JSON-RPC endpoint and the protocol version it speaks. */
export interface ResolvedCard {
  readonly name: string
  readonly description: string
  readonly version: string
  readonly skills: ReadonlyArray<AgentSkill>
  readonly endpointUrl: string
  readonly protocolVersion: "1.0" | "0.3"
}

export interface CardIssue {
  readonly path: string
  readonly message: string
}

const decode = Schema.decodeUnknownEither(AgentCard, { errors: "all" })

const majorOf = (v: string): "1.0" | "0.3" | undefined =>
  v.startsWith("1.") || v === "1" ? "1.0" : v.startsWith("0.3") ? "0.3" : undefined

/**
 * Decodes a fetched card and picks the JSON-RPC interface we can speak
 * (v1.0 preferred, v0.3 accepted). Left: the issues, field by field.
 */
export const resolveCard = (raw: unknown): Either.Either<ResolvedCard, ReadonlyArray<CardIssue>> => {
  const decoded = decode(raw)
  if (Either.isLeft(decoded)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((i) => ({
      path: i.path.join("."),
      message: i.message
    }))
    return Either.left(issues)
  }
  const card = decoded.right
  const interfaces: ReadonlyArray<{ url: string; binding: string; version: string }> = "supportedInterfaces" in card
    ? card.supportedInterfaces.map((i) => ({ url: i.url, binding: i.protocolBinding, version: i.protocolVersion }))
    : [
      { url: card.url, binding: card.preferredTransport ?? "JSONRPC", version: card.protocolVersion },
      ...(card.additionalInterfaces ?? []).map((i) => ({ url: i.url, binding: i.transport, version: card.protocolVersion }))
    ]
  const usable = interfaces
    .filter((i) => i.binding.toUpperCase() === "JSONRPC")
    .map((i) => ({ ...i, major: majorOf(i.version) }))
    .filter((i) => i.major !== undefined)
    .sort((a, b) => (a.major === "1.0" ? 0 : 1) - (b.major === "1.0" ? 0 : 1))
  if (usable.length === 0) {
    return Either.left([{
      path: "supportedInterfaces",
      message: "no JSONRPC interface with protocol version 1.x or 0.3"
    }])
  }
  return Either.right({
    name: card.name,
    description: card.description,
    version: card.version,
    skills: card.skills,
    endpointUrl: usable[0].url,
    protocolVersion: usable[0].major!
  })
}
