import { useEffect, useState } from "preact/hooks"
import { api, ApiError } from "../api.ts"
import { ErrorBox, Section, useAction } from "../ui.tsx"

/** Where MCP authorization servers send the user back (the platform's default MCP_OAUTH_REDIRECT_URL). */
export const MCP_OAUTH_CALLBACK_PATH = "/oauth/mcp/callback"

/**
 * Completes an MCP server's OAuth authorization: posts the redirect's `code` and `state` with the
 * signed-in user's credentials (the platform binds the authorization to the user who started it),
 * then takes them out of the address bar and history, so a reload or a shared URL cannot replay them.
 */
export const McpOAuthCallbackPage = () => {
  const [done, setDone] = useState<string | undefined>()
  const action = useAction()
  useEffect(() => {
    const query = new URLSearchParams(location.search)
    const code = query.get("code")
    const state = query.get("state")
    history.replaceState(null, "", `${MCP_OAUTH_CALLBACK_PATH}${location.hash}`)
    if (query.get("error") !== null || code === null || state === null) {
      action.setError(new ApiError("AuthorizationDenied", query.get("error_description") ?? query.get("error") ?? "the authorization server sent no code"))
      return
    }
    action.run(async () => {
      const r = await api((c) => c.tools.completeMcpOAuth({ payload: { code, state } }))
      setDone(r.status)
    })
  }, [])
  return (
    <Section title="MCP server authorization">
      {action.busy && <p>Completing the authorization…</p>}
      {done === "authorized" && <p role="status">The MCP server is authorized: its tools are available to the project's agents.</p>}
      <ErrorBox error={action.error} />
      <p><a href="/#/tools">Back to tools</a></p>
    </Section>
  )
}
