import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, ParseResult } from "effect"
import { PlatformApi } from "../domain/api/PlatformApi.ts"
import { session } from "./session.ts"

/**
 * The console's client: derived from the platform's HttpApi contract, so each
 * call is typed by the same schemas the server decodes with (no per-endpoint
 * fetch code). The bearer token is read per request, so a refresh applies to
 * calls already built.
 */
const makeClient = HttpApiClient.make(PlatformApi, {
  baseUrl: location.origin,
  transformClient: HttpClient.mapRequest((request) => {
    const token = session.value?.accessToken
    return token ? HttpClientRequest.bearerToken(request, token) : request
  })
}).pipe(Effect.provide(FetchHttpClient.layer))

export type Client = Effect.Effect.Success<typeof makeClient>

export interface Issue {
  readonly path: string
  readonly message: string
}

/** Every failure as the console shows it: the wire error's tag, its message and, for a 400, the issues by path. */
export class ApiError extends Error {
  constructor(readonly tag: string, message: string, readonly issues: ReadonlyArray<Issue> = []) {
    super(message)
  }
}

export const toApiError = (e: unknown): ApiError => {
  if (e instanceof ApiError) return e
  // The contract's schemas also check requests in the browser: show those problems by field, as a 400 would.
  if (ParseResult.isParseError(e)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(e).map((i) => ({ path: i.path.join("."), message: i.message }))
    return new ApiError("Invalid", issues.map((i) => i.message).join("; "), issues)
  }
  if (typeof e === "object" && e !== null) {
    const record = e as { _tag?: unknown; message?: unknown; issues?: unknown }
    const tag = typeof record._tag === "string" ? record._tag : "Error"
    const message = typeof record.message === "string" && record.message !== "" ? record.message : tag
    const issues = Array.isArray(record.issues) ? (record.issues as ReadonlyArray<Issue>) : []
    return new ApiError(tag, message, issues)
  }
  return new ApiError("Error", String(e))
}

const clientPromise = Effect.runPromise(makeClient)

const run = async <A>(f: (client: Client) => Effect.Effect<A, unknown>): Promise<A> => {
  const client = await clientPromise
  const exit = await Effect.runPromise(Effect.either(f(client)))
  if (exit._tag === "Left") throw toApiError(exit.left)
  return exit.right
}

// One refresh at a time: parallel calls that all saw a 401 share it.
let refreshing: Promise<boolean> | undefined
const refresh = (): Promise<boolean> => {
  const current = session.value
  if (!current) return Promise.resolve(false)
  refreshing ??= run((c) => c.auth.refresh({ payload: { refreshToken: current.refreshToken } }))
    .then((tokens) => {
      session.set({ ...current, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken })
      return true
    })
    .catch(() => false)
    .finally(() => {
      refreshing = undefined
    })
  return refreshing
}

/** Calls the API; an expired access token is refreshed once, and a refused refresh signs the user out. */
export const api = async <A>(f: (client: Client) => Effect.Effect<A, unknown>): Promise<A> => {
  try {
    return await run(f)
  } catch (e) {
    if (!(e instanceof ApiError) || e.tag !== "Unauthorized" || !session.value) throw e
    if (await refresh()) return run(f)
    session.set(null)
    throw e
  }
}

/**
 * Upload with progress. `fetch` cannot report upload progress, so this one call
 * uses XMLHttpRequest; its answer is the contract's `UploadAccepted`.
 */
export const uploadDocument = (
  projectId: string,
  file: File,
  onProgress: (fraction: number) => void
): Promise<{ document: { id: string; filename: string }; deduplicated: boolean }> =>
  new Promise((resolve, reject) => {
    const form = new FormData()
    form.set("projectId", projectId)
    form.set("file", file)
    const xhr = new XMLHttpRequest()
    xhr.open("POST", "/rag/documents")
    const token = session.value?.accessToken
    if (token) xhr.setRequestHeader("authorization", `Bearer ${token}`)
    xhr.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total)
    xhr.onerror = () => reject(new ApiError("NetworkError", "the upload failed (network)"))
    xhr.onload = () => {
      let body: unknown
      try {
        body = JSON.parse(xhr.responseText)
      } catch {
        return reject(new ApiError("Error", `upload answered ${xhr.status}`))
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as { document: { id: string; filename: string }; deduplicated: boolean })
      else reject(toApiError(body))
    }
    xhr.send(form)
  })
