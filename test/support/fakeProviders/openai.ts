import { chunks, type FakeProvider, makeFakeServer, sse } from "./FakeServer.ts"

const lastUserText = (body: any): string => {
  const users = (body?.messages ?? []).filter((m: any) => m.role === "user")
  const last = users[users.length - 1]
  return typeof last?.content === "string" ? last.content : ""
}

/** OpenAI Chat Completions (`POST /chat/completions`), streamed (SSE `data:` chunks, `[DONE]`) or not. */
export const startFakeOpenAi = (): FakeProvider =>
  makeFakeServer(
    (turn, request) => {
      const body = request.body
      const id = `chatcmpl-${crypto.randomUUID()}`
      const base = { id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: body.model }
      const usage = turn.kind === "text" && turn.usage
        ? { prompt_tokens: turn.usage.input, completion_tokens: turn.usage.output, total_tokens: turn.usage.input + turn.usage.output }
        : { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 }
      const text = turn.kind === "text" ? turn.text : turn.kind === "tools" ? turn.text ?? "" : ""
      const calls = turn.kind === "tools" ? turn.calls : []
      if (!body.stream) {
        return Response.json({
          id,
          object: "chat.completion",
          created: base.created,
          model: body.model,
          choices: [{
            index: 0,
            message: {
              role: "assistant",
              content: text || null,
              ...(calls.length > 0
                ? { tool_calls: calls.map((c, i) => ({ id: `call_${i}`, type: "function", function: { name: c.name, arguments: JSON.stringify(c.args) } })) }
                : {})
            },
            finish_reason: calls.length > 0 ? "tool_calls" : "stop"
          }],
          usage
        })
      }
      const frame = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`
      const frames: Array<string> = [frame({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] })]
      for (const piece of text === "" ? [] : chunks(text)) {
        frames.push(frame({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] }))
      }
      calls.forEach((c, i) => {
        const args = JSON.stringify(c.args)
        // Real servers send the name first and the arguments in fragments.
        frames.push(frame({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: i, id: `call_${i}`, type: "function", function: { name: c.name, arguments: "" } }] }, finish_reason: null }] }))
        const mid = Math.floor(args.length / 2)
        for (const part of [args.slice(0, mid), args.slice(mid)]) {
          frames.push(frame({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: part } }] }, finish_reason: null }] }))
        }
      })
      frames.push(frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: calls.length > 0 ? "tool_calls" : "stop" }] }))
      if (body.stream_options?.include_usage) frames.push(frame({ ...base, choices: [], usage }))
      frames.push("data: [DONE]\n\n")
      return sse(frames, turn.kind === "text" ? turn.chunkDelayMs ?? 0 : 0)
    },
    (status) => ({ error: { message: `fake error ${status}`, type: status === 429 ? "rate_limit_exceeded" : "server_error", code: null } }),
    lastUserText
  )
