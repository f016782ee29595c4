import { useState } from "preact/hooks"
import { api } from "../api.ts"
import { currentProject, session } from "../session.ts"
import { ErrorBox, Field, useAction } from "../ui.tsx"

/** Sign in or create an account; a new account comes with its own project. */
export const AuthPage = () => {
  const [mode, setMode] = useState<"signin" | "register">("signin")
  const [email, setEmail] = useState("")
  const [password, setPassword] = useState("")
  const [displayName, setDisplayName] = useState("")
  const action = useAction()

  const submit = (e: Event) => {
    e.preventDefault()
    action.run(async () => {
      if (mode === "register") {
        const r = await api((c) =>
          c.auth.register({ payload: { email, password, displayName: displayName || undefined } })
        )
        currentProject.set(r.projectId)
        session.set({ accessToken: r.accessToken, refreshToken: r.refreshToken, email: r.user.email })
      } else {
        const r = await api((c) => c.auth.login({ payload: { email, password } }))
        session.set({ accessToken: r.accessToken, refreshToken: r.refreshToken, email: r.user.email })
      }
      if (!location.hash) location.hash = "#/agents"
    })
  }

  return (
    <main id="main" class="auth">
      <h1>Agent Platform</h1>
      <div class="tabs" role="tablist" aria-label="Account">
        <button type="button" role="tab" aria-selected={mode === "signin"} onClick={() => setMode("signin")}>Sign in</button>
        <button type="button" role="tab" aria-selected={mode === "register"} onClick={() => setMode("register")}>Create account</button>
      </div>
      <form class="card" onSubmit={submit} aria-label={mode === "signin" ? "Sign in" : "Create account"}>
        <Field label="Email">
          {(id) => <input id={id} name="email" type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />}
        </Field>
        <Field label="Password" hint={mode === "register" ? "At least 10 characters, letters mixed with digits or symbols" : undefined}>
          {(id) => (
            <input
              id={id}
              name="password"
              type="password"
              autoComplete={mode === "register" ? "new-password" : "current-password"}
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          )}
        </Field>
        {mode === "register" && (
          <Field label="Display name (optional)">
            {(id) => <input id={id} name="displayName" value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />}
          </Field>
        )}
        <ErrorBox error={action.error} />
        <button type="submit" disabled={action.busy}>{mode === "signin" ? "Sign in" : "Create account"}</button>
      </form>
      <p class="muted">The API itself is documented at <a href="/docs">/docs</a>.</p>
    </main>
  )
}
