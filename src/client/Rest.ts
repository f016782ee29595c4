/**
 * The few operations that stay REST (login, projects, document upload,
 * traces) and the `/ws/events` feed, over plain `fetch` / `WebSocket` so the
 * Promise client works in any JavaScript runtime.
 */

/** A failed REST call: `_tag` and `message` as the platform sent them (`NotFound`, `Unauthorized`, ...). */
export class PlatformRequestError extends Error {
  readonly _tag: string
  readonly status: number
  constructor(status: number, tag: string, message: string) {
    super(message)
    this.name = tag
    this._tag = tag
    this.status = status
  }
}

export const trimBase = (baseUrl: string) => baseUrl.replace(/\/+$/, "")

const failure = async (res: Response) => {
  const text = await res.text()
  try {
    const body = JSON.parse(text) as { _tag?: string; message?: string }
    return new PlatformRequestError(res.status, body._tag ?? `Http${res.status}`, body.message ?? text)
  } catch {
    return new PlatformRequestError(res.status, `Http${res.status}`, text || res.statusText)
  }
}

export const request = async <A>(
  baseUrl: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown
): Promise<A> => {
  const headers: Record<string, string> = {}
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  let payload: BodyInit | undefined
  if (body instanceof FormData) payload = body
  else if (body !== undefined) {
    headers["content-type"] = "application/json"
    payload = JSON.stringify(body)
  }
  const res = await fetch(`${trimBase(baseUrl)}${path}`, { method, headers, ...(payload === undefined ? {} : { body: payload }) })
  if (!res.ok) throw await failure(res)
  if (res.status === 204) return undefined as A
  return (await res.json()) as A
}

export interface TokenResponse {
  readonly accessToken: string
  readonly refreshToken: string
  readonly expiresIn: number
  readonly user: { readonly id: string; readonly email: string; readonly displayName: string | null }
}

/** `POST /auth/login`: needs no token. */
export const login = (baseUrl: string, email: string, password: string) =>
  request<TokenResponse>(baseUrl, undefined, "POST", "/auth/login", { email, password })

export interface ProjectView {
  readonly id: string
  readonly name: string
  readonly ownerId: string
  readonly role: "admin" | "developer" | "viewer"
  readonly createdAt: string
}

export interface UploadedDocument {
  readonly document: { readonly id: string; readonly status: string; readonly filename: string; readonly chunkCount: number }
  readonly deduplicated: boolean
}

export interface SpanView {
  readonly traceId: string
  readonly spanId: string
  readonly name: string
  readonly durationMs?: number
  readonly status?: string
  readonly [key: string]: unknown
}

/** One `/ws/events` message: platform events, plus `subscribed` / `pong` frames of the socket itself. */
export interface PlatformEvent {
  readonly type: string
  readonly topic?: string
  readonly projectId?: string
  readonly data?: unknown
  readonly [key: string]: unknown
}

/**
 * `/ws/events` as an AsyncIterable (`topics`: prefixes, e.g. `["agents/"]`).
 * Leaving the loop closes the socket.
 */
export async function* events(baseUrl: string, token: string, topics: ReadonlyArray<string> = []): AsyncGenerator<PlatformEvent> {
  const query = new URLSearchParams({ access_token: token })
  if (topics.length > 0) query.set("topics", topics.join(","))
  const socket = new WebSocket(`${trimBase(baseUrl).replace(/^http/, "ws")}/ws/events?${query}`)
  const queue: Array<PlatformEvent> = []
  let wake: (() => void) | undefined
  let ended: { readonly error?: Error } | undefined
  const notify = () => {
    wake?.()
    wake = undefined
  }
  socket.onmessage = (m) => {
    queue.push(JSON.parse(typeof m.data === "string" ? m.data : new TextDecoder().decode(m.data as ArrayBuffer)) as PlatformEvent)
    notify()
  }
  socket.onerror = () => {
    ended = { error: new PlatformRequestError(0, "SocketError", "the events socket failed") }
    notify()
  }
  socket.onclose = (e) => {
    ended ??= e.code === 1000 ? {} : { error: new PlatformRequestError(0, "SocketClosed", `events socket closed (${e.code} ${e.reason})`) }
    notify()
  }
  try {
    while (true) {
      const next = queue.shift()
      if (next !== undefined) {
        yield next
        continue
      }
      if (ended !== undefined) {
        if (ended.error) throw ended.error
        return
      }
      await new Promise<void>((resolve) => (wake = resolve))
    }
  } finally {
    socket.close()
  }
}
