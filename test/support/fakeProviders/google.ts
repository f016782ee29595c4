import { chunks, type FakeProvider, makeFakeServer, sse } from "./FakeServer.ts"

const lastUserText = (body: any): string => {
  const users = (body?.contents ?? []).filter((c: any) => c.role === "user")
  return users[users.length - 1]?.parts?.map((p: any) => p.text ?? "").join("") ?? ""
}

/** Gemini (`POST /v1beta/models/{model}:streamGenerateContent?alt=sse` and `:generateContent`). */
export const startFakeGoogle = (): FakeProvider =>
  makeFakeServer(
    (turn, _request, url) => {
      const text = turn.kind === "text" ? turn.text : turn.kind === "tools" ? turn.text ?? "" : ""
      const calls = turn.kind === "tools" ? turn.calls : []
      const usage = turn.kind === "text" && turn.usage ? turn.usage : { input: 17, output: 5 }
      const usageMetadata = { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output }
      const candidate = (parts: Array<unknown>, finishReason?: string) => ({
        candidates: [{ content: { role: "model", parts }, index: 0, ...(finishReason ? { finishReason } : {}) }]
      })
      const allParts = [...(text === "" ? [] : [{ text }]), ...calls.map((c) => ({ functionCall: { name: c.name, args: c.args } }))]
      if (!url.pathname.endsWith(":streamGenerateContent")) {
        return Response.json({ ...candidate(allParts, "STOP"), usageMetadata })
      }
      const frame = (o: unknown) => `data: ${JSON.stringify(o)}\r\n\r\n`
      const frames = (text === "" ? [] : chunks(text)).map((piece) => frame(candidate([{ text: piece }])))
      if (calls.length > 0) frames.push(frame(candidate(calls.map((c) => ({ functionCall: { name: c.name, args: c.args } })))))
      frames.push(frame({ ...candidate([{ text: "" }], "STOP"), usageMetadata }))
      return sse(frames)
    },
    (status) => ({ error: { code: status, message: `fake error ${status}`, status: status === 429 ? "RESOURCE_EXHAUSTED" : "INTERNAL" } }),
    lastUserText
  )
