import { Effect } from "effect"
import { AuthConfig, type AuthConfigShape } from "../../src/auth/AuthConfig.ts"

export interface SignedUp {
  readonly token: string
  readonly refreshToken: string
  readonly userId: string
  readonly email: string
  /** The personal project created with the account; the user is its admin. */
  readonly projectId: string
  /** `{ authorization: "Bearer <token>" }`, ready for fetch. */
  readonly headers: { readonly authorization: string }
}

let counter = 0

/**
 * Registers a fresh user on a running platform (POST /auth/register) and
 * returns its tokens: `fetch(url, { headers: user.headers })`.
 */
export const signUp = async (
  baseUrl: string,
  opts: { readonly email?: string; readonly password?: string; readonly displayName?: string } = {}
): Promise<SignedUp> => {
  const email = opts.email ?? `user-${Date.now().toString(36)}-${++counter}-${crypto.randomUUID().slice(0, 8)}@test.example`
  const res = await fetch(`${baseUrl}/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      email,
      password: opts.password ?? "correct-horse-battery-9",
      ...(opts.displayName === undefined ? {} : { displayName: opts.displayName })
    })
  })
  if (res.status !== 201) throw new Error(`signUp failed: ${res.status} ${await res.text()}`)
  const body = (await res.json()) as {
    accessToken: string
    refreshToken: string
    projectId: string
    user: { id: string; email: string }
  }
  return {
    token: body.accessToken,
    refreshToken: body.refreshToken,
    userId: body.user.id,
    email: body.user.email,
    projectId: body.projectId,
    headers: { authorization: `Bearer ${body.accessToken}` }
  }
}

/** `AuthConfig` from the environment's defaults with some fields replaced: `startPlatform({ auth: authConfig({...}) })`. */
export const authConfig = (overrides: Partial<AuthConfigShape> = {}): AuthConfigShape => ({
  ...Effect.runSync(AuthConfig.config),
  ...overrides
})
