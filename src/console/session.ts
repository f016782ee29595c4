/** A value components subscribe to (a tiny store: the console needs two). */
export class Store<A> {
  private readonly listeners = new Set<(value: A) => void>()
  constructor(public value: A) {}
  set(value: A) {
    this.value = value
    for (const listener of this.listeners) listener(value)
  }
  subscribe(listener: (value: A) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}

export interface Session {
  readonly accessToken: string
  readonly refreshToken: string
  readonly email: string
}

const KEY = "agent-platform.console.session"

const load = (): Session | null => {
  try {
    const raw = localStorage.getItem(KEY)
    return raw ? (JSON.parse(raw) as Session) : null
  } catch {
    return null
  }
}

/** The signed-in user's tokens, kept across reloads of this origin; null when signed out. */
export const session = new Store<Session | null>(load())
session.subscribe((value) => {
  if (value) localStorage.setItem(KEY, JSON.stringify(value))
  else localStorage.removeItem(KEY)
})

/** The project every page works in (chosen in the header). */
export const currentProject = new Store<string | null>(localStorage.getItem(`${KEY}.project`))
currentProject.subscribe((value) => {
  if (value) localStorage.setItem(`${KEY}.project`, value)
  else localStorage.removeItem(`${KEY}.project`)
})
