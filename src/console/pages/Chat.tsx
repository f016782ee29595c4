import { useEffect, useRef, useState } from "preact/hooks"
import { session } from "../session.ts"
import { Field, Status } from "../ui.tsx"

interface ToolCall {
  readonly callId: string
  readonly name: string
  readonly phase: "started" | "finished"
  readonly isError: boolean
}

interface Turn {
  readonly role: "user" | "agent" | "error"
  readonly text: string
  readonly state?: string
  readonly taskId?: string
  readonly tools?: ReadonlyArray<ToolCall>
}

/** Frames of `/ws/chat` (src/agents/ChatSocket.ts). */
type Frame =
  | { type: "ready" }
  | { type: "task"; taskId: string; contextId: string; state: string }
  | { type: "token"; taskId: string; text: string }
  | ({ type: "tool"; taskId: string } & ToolCall)
  | { type: "status"; taskId: string; state: string }
  | { type: "done"; taskId: string; state: string; output: string | null }
  | { type: "error"; message: string; code?: string }
  | { type: "pong" }

/**
 * A conversation with one agent over the chat WebSocket: tokens are appended
 * as they arrive; turns share a context id so the agent sees the transcript.
 */
export const Chat = ({ agentId, onDone }: { agentId: string; onDone: () => void }) => {
  const [turns, setTurns] = useState<ReadonlyArray<Turn>>([])
  const [text, setText] = useState("")
  const [connected, setConnected] = useState(false)
  const [busy, setBusy] = useState(false)
  const socket = useRef<WebSocket | null>(null)
  const contextId = useRef<string | undefined>(undefined)
  const log = useRef<HTMLDivElement>(null)

  useEffect(() => {
    setTurns([])
    contextId.current = undefined
    const token = session.value?.accessToken ?? ""
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/chat?access_token=${encodeURIComponent(token)}`
    const ws = new WebSocket(url)
    socket.current = ws
    const updateLast = (f: (turn: Turn) => Turn) =>
      setTurns((all) => (all.length && all[all.length - 1].role === "agent" ? [...all.slice(0, -1), f(all[all.length - 1])] : all))
    ws.onmessage = (event) => {
      const frame = JSON.parse(String(event.data)) as Frame
      switch (frame.type) {
        case "ready":
          return setConnected(true)
        case "task":
          contextId.current = frame.contextId
          return updateLast((t) => ({ ...t, taskId: frame.taskId, state: frame.state }))
        case "token":
          return updateLast((t) => ({ ...t, text: t.text + frame.text }))
        case "tool": {
          const call: ToolCall = { callId: frame.callId, name: frame.name, phase: frame.phase, isError: frame.isError }
          return updateLast((t) => ({ ...t, tools: [...(t.tools ?? []).filter((c) => c.callId !== call.callId), call] }))
        }
        case "status":
          return updateLast((t) => ({ ...t, state: frame.state }))
        case "done":
          setBusy(false)
          onDone()
          return updateLast((t) => ({ ...t, state: frame.state, text: t.text || frame.output || "" }))
        case "error":
          setBusy(false)
          return setTurns((all) => [...all, { role: "error", text: frame.message }])
      }
    }
    ws.onclose = () => {
      setConnected(false)
      setBusy(false)
    }
    return () => ws.close()
  }, [agentId])

  useEffect(() => {
    log.current?.scrollTo(0, log.current.scrollHeight)
  }, [turns])

  const send = (e: Event) => {
    e.preventDefault()
    const message = text.trim()
    if (!message || !socket.current || busy) return
    setBusy(true)
    setTurns((all) => [...all, { role: "user", text: message }, { role: "agent", text: "", state: "submitted" }])
    socket.current.send(JSON.stringify({ type: "chat", sessionId: crypto.randomUUID(), agentId, text: message, contextId: contextId.current }))
    setText("")
  }

  return (
    <div class="chat">
      <div class="chat-log" ref={log} aria-live="polite" aria-label="Conversation" role="log">
        {turns.length === 0 && <p class="muted">{connected ? "Say something to the agent." : "Connecting…"}</p>}
        {turns.map((turn) => (
          <div class={`turn turn-${turn.role}`} data-role={turn.role}>
            <span class="who">{turn.role === "user" ? "You" : turn.role === "agent" ? "Agent" : "Error"}</span>
            {turn.state && <Status value={turn.state} />}
            {(turn.tools ?? []).length > 0 && (
              <ul class="tool-calls" aria-label="Tool calls">
                {turn.tools!.map((call) => (
                  <li data-tool={call.name} data-phase={call.phase}>
                    <code>{call.name}</code> <Status value={call.phase === "started" ? "running" : call.isError ? "failed" : "completed"} />
                  </li>
                ))}
              </ul>
            )}
            <p class="text">{turn.text || (turn.role === "agent" ? "…" : "")}</p>
          </div>
        ))}
      </div>
      <form class="chat-form" onSubmit={send}>
        <Field label="Message">
          {(id) => <textarea id={id} name="message" rows={2} value={text} onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) send(e)
            }} />}
        </Field>
        <button type="submit" disabled={!connected || busy}>{busy ? "Answering…" : "Send"}</button>
      </form>
    </div>
  )
}
