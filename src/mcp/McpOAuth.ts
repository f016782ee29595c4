import type { OAuthClientProvider, OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js"
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js"
import { Data, Effect } from "effect"
import type { McpOAuthSettings } from "../domain/Mcp.ts"
import { CLIENT_INFO } from "./McpConnection.ts"
import { mcpClientSdk } from "./McpSdk.ts"

/**
 * What an OAuth-protected MCP server's credentials are, per registration: the
 * client (dynamically registered, or pre-registered with its secret), the
 * tokens (with their refresh token), the PKCE verifier of an authorization in
 * progress and the discovery results. Stored sealed (see McpOAuthStore); it
 * never appears in a response or a log.
 */
export interface McpOAuthState {
  readonly client?: OAuthClientInformationMixed | undefined
  readonly tokens?: OAuthTokens | undefined
  readonly codeVerifier?: string | undefined
  readonly discovery?: OAuthDiscoveryState | undefined
}

/**
 * Where a provider reads and writes its state (a sealed database row, or memory in the conformance client).
 * `update` is a read-modify-write under the store's lock: several providers of one server (a tool call
 * refreshing tokens while a user completes an authorization) each change only what they mean to, on the
 * newest state, and get that merged state back.
 */
export interface McpOAuthStore {
  readonly load: () => Promise<McpOAuthState>
  readonly update: (change: (current: McpOAuthState) => Partial<McpOAuthState>) => Promise<McpOAuthState>
}

export const memoryOAuthStore = (initial: McpOAuthState = {}): McpOAuthStore => {
  let state = initial
  return {
    load: async () => state,
    update: async (change) => (state = { ...state, ...change(state) })
  }
}

/**
 * The SDK's `OAuthClientProvider` over a store. Discovery (RFC 9728 protected
 * resource metadata, RFC 8414 / OIDC authorization-server metadata), dynamic
 * client registration, PKCE, the code exchange and refresh are the SDK's
 * (`auth()`); every request they make goes through the `fetch` the caller
 * hands the SDK (the platform's: the egress policy), so a hostile server's
 * metadata cannot make the platform fetch an internal address.
 *
 * `authorization_code`: when the SDK wants the user to authorize, the URL is
 * handed to `onAuthorizationUrl` (the platform returns it to the user who
 * asked; the conformance client follows it) and the connection fails
 * "unauthorized" until the code is exchanged. `client_credentials`: no
 * redirect URL, so the SDK asks the token endpoint directly with the
 * pre-registered client.
 */
export class McpOAuthProvider implements OAuthClientProvider {
  private stored: McpOAuthState | undefined
  /** The `state` parameter of the last authorization URL this provider made. */
  lastState: string | undefined

  /**
   * `onAuthorizationUrl` absent: a connection that must not start an authorization (an agent's
   * tool call): the SDK's PKCE verifier is not stored, so it cannot replace the one of an
   * authorization a user has in progress, and the connection fails "unauthorized".
   */
  constructor(
    private readonly settings: McpOAuthSettings & { readonly redirectUrl?: string | undefined },
    private readonly store: McpOAuthStore,
    private readonly onAuthorizationUrl?: (url: URL) => void | Promise<void>
  ) {}

  private async current(): Promise<McpOAuthState> {
    return (this.stored ??= await this.store.load())
  }

  /** Applies `change` to the store's newest state; this provider then sees that state (others' writes included). */
  private async update(change: Partial<McpOAuthState> | ((current: McpOAuthState) => Partial<McpOAuthState>)): Promise<void> {
    this.stored = await this.store.update(typeof change === "function" ? change : () => change)
  }

  get redirectUrl(): string | undefined {
    return this.settings.grant === "client_credentials" ? undefined : this.settings.redirectUrl
  }

  get clientMetadata(): OAuthClientMetadata {
    const interactive = this.settings.grant !== "client_credentials"
    return {
      client_name: CLIENT_INFO.name,
      redirect_uris: interactive && this.settings.redirectUrl ? [this.settings.redirectUrl] : [],
      grant_types: interactive ? ["authorization_code", "refresh_token"] : ["client_credentials"],
      response_types: interactive ? ["code"] : [],
      ...(this.settings.scope !== undefined ? { scope: this.settings.scope } : {})
    }
  }

  async clientInformation(): Promise<OAuthClientInformationMixed | undefined> {
    const stored = (await this.current()).client
    if (stored !== undefined) return stored
    // Pre-registered: the configured client until the SDK stamps it with its issuer (saved below).
    if (this.settings.clientId !== undefined) {
      return {
        client_id: this.settings.clientId,
        ...(this.settings.clientSecret !== undefined ? { client_secret: this.settings.clientSecret } : {})
      }
    }
    return undefined
  }

  async saveClientInformation(client: OAuthClientInformationMixed): Promise<void> {
    await this.update({ client })
  }

  async tokens(): Promise<OAuthTokens | undefined> {
    return (await this.current()).tokens
  }

  async saveTokens(tokens: OAuthTokens): Promise<void> {
    await this.update({ tokens })
  }

  /** 256 bits from the CSPRNG: the platform binds it to the project, server and user that asked. */
  state(): string {
    this.lastState = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")
    return this.lastState
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    await this.onAuthorizationUrl?.(url)
  }

  async saveCodeVerifier(codeVerifier: string): Promise<void> {
    if (this.onAuthorizationUrl !== undefined) await this.update({ codeVerifier })
  }

  async codeVerifier(): Promise<string> {
    const verifier = (await this.current()).codeVerifier
    if (verifier === undefined) throw new Error("no authorization in progress")
    return verifier
  }

  async saveDiscoveryState(discovery: OAuthDiscoveryState): Promise<void> {
    await this.update({ discovery })
  }

  async discoveryState(): Promise<OAuthDiscoveryState | undefined> {
    return (await this.current()).discovery
  }

  async invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): Promise<void> {
    switch (scope) {
      case "all":
        return this.update({ client: undefined, tokens: undefined, codeVerifier: undefined, discovery: undefined })
      case "client":
        return this.update({ client: undefined })
      case "tokens": {
        // The SDK drops tokens the server refused (a refresh token already rotated, say). Only the tokens this
        // provider used: newer ones another writer saved meanwhile are kept, and this provider picks them up.
        const used = this.stored?.tokens
        return this.update((current) => sameTokens(current.tokens, used) ? { tokens: undefined } : {})
      }
      case "verifier":
        return this.update({ codeVerifier: undefined })
      case "discovery":
        return this.update({ discovery: undefined })
    }
  }

  /** client_credentials asks for tokens directly (RFC 6749 §4.4); the code flow uses the SDK's default request. */
  prepareTokenRequest(scope?: string): URLSearchParams | undefined {
    if (this.settings.grant !== "client_credentials") return undefined
    const params = new URLSearchParams({ grant_type: "client_credentials" })
    const wanted = scope ?? this.settings.scope
    if (wanted) params.set("scope", wanted)
    return params
  }
}

const sameTokens = (a: OAuthTokens | undefined, b: OAuthTokens | undefined) =>
  a?.access_token === b?.access_token && a?.refresh_token === b?.refresh_token

/** An OAuth step that failed: discovery, registration, the token endpoint, or a URL the egress policy refused. */
export class McpOAuthError extends Data.TaggedError("McpOAuthError")<{ readonly message: string }> {}

const oauthFailure = (e: unknown) =>
  new McpOAuthError({ message: `OAuth authorization failed: ${(e instanceof Error ? e.message : String(e)).slice(0, 300)}` })

/**
 * Runs the SDK's authorization for `serverUrl`: `AUTHORIZED` when stored or
 * refreshed tokens (or client_credentials) suffice, else `REDIRECT` after
 * the provider received the authorization URL. With `authorizationCode`, the
 * code is exchanged (PKCE verifier from the store) and the tokens are saved.
 */
export const authorize = (
  provider: McpOAuthProvider,
  options: {
    readonly serverUrl: string
    readonly fetch: (url: string | URL, init?: RequestInit) => Promise<Response>
    readonly authorizationCode?: string
  }
): Effect.Effect<"AUTHORIZED" | "REDIRECT", McpOAuthError> =>
  Effect.flatMap(mcpClientSdk, (sdk) =>
    Effect.tryPromise({
      try: () =>
        sdk.auth(provider, {
          serverUrl: options.serverUrl,
          fetchFn: options.fetch,
          ...(options.authorizationCode !== undefined ? { authorizationCode: options.authorizationCode } : {})
        }),
      catch: oauthFailure
    }))
