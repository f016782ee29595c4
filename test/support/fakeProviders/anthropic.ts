import { chunks, type FakeProvider, makeFakeServer, sse } from "./FakeServer.ts"

const lastUserText = (body: any): string => {
  const users = (body?.messages ?? []).filter((m: any) => m.role === "user" && typeof m.content === "string")
  return users[users.length - 1]?.content ?? ""
}

/** Anthropic Messages (`POST /v1/messages`), streamed as named SSE events. */
export const startFakeAnthropic = (): FakeProvider =>
  makeFakeServer(
    (turn, request) => {
      const body = request.body
      const id = `msg_${crypto.randomUUID().replaceAll("-", "")}`
      const text = turn.kind === "text" ? turn.text : turn.kind === "tools" ? turn.text ?? "" : ""
      const calls = turn.kind === "tools" ? turn.calls : []
      const usage = turn.kind === "text" && turn.usage ? turn.usage : { input: 13, output: 9 }
      const stopReason = calls.length > 0 ? "tool_use" : "end_turn"
      if (!body.stream) {
        return Response.json({
          id,
          type: "message",
          role: "assistant",
          model: body.model,
          content: [
            ...(text === "" ? [] : [{ type: "text", text }]),
            ...calls.map((c, i) => ({ type: "tool_use", id: `toolu_${i}`, name: c.name, input: c.args }))
          ],
          stop_reason: stopReason,
          stop_sequence: null,
          usage: { input_tokens: usage.input, output_tokens: usage.output }
        })
      }
      const ev = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify({ type, ...(data as object) })}\n\n`
      const frames = [
        ev("message_start", {
          message: { id, type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.input, output_tokens: 1 } }
        }),
        "event: ping\ndata: {\"type\": \"ping\"}\n\n"
      ]
      let index = 0
      if (text !== "") {
        frames.push(ev("content_block_start", { index, content_block: { type: "text", text: "" } }))
        for (const piece of chunks(text)) frames.push(ev("content_block_delta", { index, delta: { type: "text_delta", text: piece } }))
        frames.push(ev("content_block_stop", { index }))
        index++
      }
      calls.forEach((c, i) => {
        const args = JSON.stringify(c.args)
        frames.push(ev("content_block_start", { index, content_block: { type: "tool_use", id: `toolu_${i}`, name: c.name, input: {} } }))
        const mid = Math.floor(args.length / 2)
        for (const part of [args.slice(0, mid), args.slice(mid)]) {
          frames.push(ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: part } }))
        }
        frames.push(ev("content_block_stop", { index }))
        index++
      })
      frames.push(ev("message_delta", { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output } }))
      frames.push(ev("message_stop", {}))
      return sse(frames)
    },
    (status) => ({ type: "error", error: { type: status === 429 ? "rate_limit_error" : "api_error", message: `fake error ${status}` } }),
    lastUserText
  )
