import { type Rpc, type RpcClient, type RpcGroup, RpcSchema } from "@effect/rpc"
import { Cause, Effect, Exit, ManagedRuntime, Option, Scope, Stream } from "effect"
import { PlatformRpcs } from "../../rpc/PlatformRpcs.ts"
import { type ConnectionOptions, PlatformClient } from "./EffectClient.ts"
import * as Rest from "./Rest.ts"

type Rpcs = RpcGroup.Rpcs<typeof PlatformRpcs>

/** One group's procedures as plain functions: a Promise per call, an AsyncIterable per stream. */
export type PromiseGroup<R extends Rpc.Any, Prefix extends string> = {
  readonly [Current in R as Current["_tag"] extends `${Prefix}.${infer Method}` ? Method : never]: (
    input: Rpc.PayloadConstructor<Current>
  ) => Current extends Rpc.Rpc<infer _Tag, infer _Payload, infer _Success, infer _Error, infer _Middleware>
    ? [_Success] extends [RpcSchema.Stream<infer _A, infer _E>] ? AsyncIterable<_A["Type"]> : Promise<_Success["Type"]>
    : never
}

type Groups = { readonly [P in RpcClient.RpcClient.Prefixes<Rpcs>]: PromiseGroup<RpcClient.RpcClient.Prefixed<Rpcs, P>, P> }

export interface DocumentProgress {
  readonly id: string
  readonly status: string
  readonly chunkCount: number
  readonly chunksEmbedded: number
}

export interface PlatformPromiseClient extends Groups {
  readonly projects: { readonly list: () => Promise<ReadonlyArray<Rest.ProjectView>> }
  readonly documents: {
    /**
     * `POST /rag/documents` (multipart), then `rag.getDocument` every `pollMs` until the
     * document is `ready` or `failed`; `onProgress` sees each reading.
     */
    readonly upload: (input: {
      readonly projectId: string
      readonly filename: string
      readonly content: Blob | Uint8Array | string
      readonly contentType?: string
      readonly onProgress?: (progress: DocumentProgress) => void
      readonly pollMs?: number
      readonly timeoutMs?: number
    }) => Promise<DocumentProgress & { readonly deduplicated: boolean }>
  }
  readonly traces: {
    readonly list: (query?: Readonly<Record<string, string | number>>) => Promise<unknown>
    readonly get: (traceId: string) => Promise<unknown>
  }
  /** `/ws/events` (optionally narrowed to topic prefixes) until the loop is left. */
  readonly events: (topics?: ReadonlyArray<string>) => AsyncIterable<Rest.PlatformEvent>
  /** Closes the connection (the WebSocket transport's socket); pending calls are interrupted. */
  readonly close: () => Promise<void>
}

/** Which procedures stream: they become AsyncIterables. */
const streaming = new Set<string>([...PlatformRpcs.requests.values()].filter((rpc) => RpcSchema.isStreamSchema(rpc.successSchema)).map((rpc) => rpc._tag))

/** A typed failure is thrown as itself (`err._tag === "NotFound"`), anything else as its squashed cause. */
const unwrap = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  throw Option.isSome(failure) ? refused(failure.value) : Cause.squash(exit.cause)
}

/** A transport error for an HTTP status (a bad token's 401) reads like a REST one: `_tag` Unauthorized, with the status. */
const refused = (error: unknown) => {
  const status = (error as { _tag?: string; cause?: { response?: { status?: number } } })?.cause?.response?.status
  if ((error as { _tag?: string })._tag !== "RpcClientError" || status === undefined) return error
  return new Rest.PlatformRequestError(status, status === 401 ? "Unauthorized" : status === 429 ? "TooManyRequests" : `Http${status}`, `the platform refused the call (${status})`)
}

/**
 * The platform's typed RPCs as plain async functions, for code that does not
 * use Effect:
 *
 * ```ts
 * const platform = createPlatformClient({ baseUrl: "http://localhost:8000", token })
 * const agent = await platform.agents.create({ projectId, name: "helper" })
 * const reply = await platform.agents.execute({ agentId: agent.id, text: "hello" })
 * for await (const event of platform.tasks.stream({ agentId: agent.id, text: "hi" })) console.log(event._tag)
 * await platform.close()
 * ```
 */
export const createPlatformClient = (options: ConnectionOptions): PlatformPromiseClient => {
  const runtime = ManagedRuntime.make(PlatformClient.layer(options))
  const run = async <A, E>(effect: Effect.Effect<A, E, PlatformClient>) => unwrap(await runtime.runPromiseExit(effect))

  async function* iterate<A, E>(stream: Stream.Stream<A, E, PlatformClient>): AsyncGenerator<A> {
    const scope = await runtime.runPromise(Scope.make())
    try {
      const pull = await run(Scope.extend(Stream.toPull(stream), scope))
      while (true) {
        const exit = await runtime.runPromiseExit(pull)
        if (Exit.isSuccess(exit)) {
          yield* exit.value
          continue
        }
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure)) {
          // `None` is the end of the stream.
          if (Option.isNone(failure.value)) return
          throw refused(failure.value.value)
        }
        throw Cause.squash(exit.cause)
      }
    } finally {
      // Leaving the loop early interrupts the stream on the server too.
      await runtime.runPromise(Scope.close(scope, Exit.void))
    }
  }

  const procedure = (group: string, method: string) => (input: unknown) => {
    const call = (client: Record<string, Record<string, (input: unknown) => unknown>>) => client[group][method](input)
    const isStream = streaming.has(`${group}.${method}`)
    return isStream
      ? iterate(Stream.unwrap(Effect.map(PlatformClient, (c) => call(c as never) as Stream.Stream<unknown, unknown>)))
      : run(Effect.flatMap(PlatformClient, (c) => call(c as never) as Effect.Effect<unknown, unknown>))
  }

  const groups = Object.fromEntries(
    [...PlatformRpcs.requests.keys()].filter((t) => t.includes(".")).reduce((acc, tag) => {
      const [group, method] = tag.split(".") as [string, string]
      acc.set(group, { ...acc.get(group), [method]: procedure(group, method) })
      return acc
    }, new Map<string, Record<string, unknown>>())
  ) as unknown as Groups

  const { baseUrl, token } = options

  const upload: PlatformPromiseClient["documents"]["upload"] = async (input) => {
    const form = new FormData()
    form.set("projectId", input.projectId)
    const blob = input.content instanceof Blob
      ? input.content
      : new Blob([input.content as BlobPart], { type: input.contentType ?? "text/plain" })
    form.set("file", blob, input.filename)
    const accepted = await Rest.request<Rest.UploadedDocument>(baseUrl, token, "POST", "/rag/documents", form)
    const deadline = Date.now() + (input.timeoutMs ?? 300_000)
    while (true) {
      const doc = await groups.rag.getDocument({ id: accepted.document.id })
      const progress = { id: doc.id, status: doc.status, chunkCount: doc.chunkCount, chunksEmbedded: doc.chunksEmbedded }
      input.onProgress?.(progress)
      if (doc.status === "ready" || doc.status === "failed") return { ...progress, deduplicated: accepted.deduplicated }
      if (Date.now() > deadline) throw new Rest.PlatformRequestError(0, "Timeout", `document ${doc.id} is still ${doc.status}`)
      await new Promise((resolve) => setTimeout(resolve, input.pollMs ?? 200))
    }
  }

  return {
    ...groups,
    projects: { list: () => Rest.request(baseUrl, token, "GET", "/projects") },
    documents: { upload },
    traces: {
      list: (query = {}) =>
        Rest.request(baseUrl, token, "GET", `/observability/traces?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`),
      get: (traceId) => Rest.request(baseUrl, token, "GET", `/observability/traces/${encodeURIComponent(traceId)}`)
    },
    events: (topics = []) => Rest.events(baseUrl, token, topics),
    close: () => runtime.dispose()
  }
}
