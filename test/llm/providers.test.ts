import { afterAll, beforeEach, describe, expect, test } from "bun:test"
import { Effect, Layer, Option, Redacted } from "effect"
import { LanguageModel } from "../../src/llm/LanguageModel.ts"
import { LlmConfig } from "../../src/llm/LlmConfig.ts"
import { LOCAL_PREFIX } from "../../src/llm/providers/Local.ts"
import { type LoopEvent, runToolLoop, type ToolLoopOptions } from "../../src/llm/ToolLoop.ts"
import type { LlmEvent, LlmRequest } from "../../src/llm/Types.ts"
import type { ProviderName } from "../../src/domain/Provider.ts"
import { startFakeAnthropic } from "../support/fakeProviders/anthropic.ts"
import type { FakeProvider } from "../support/fakeProviders/FakeServer.ts"
import { startFakeGoogle } from "../support/fakeProviders/google.ts"
import { startFakeOpenAi } from "../support/fakeProviders/openai.ts"
import { suiteRuntime } from "../support/effect.ts"

const fakes: Record<Exclude<ProviderName, "local">, FakeProvider> = {
  openai: startFakeOpenAi(),
  anthropic: startFakeAnthropic(),
  google: startFakeGoogle()
}

/** The loop's events in the order it reported them (its `Done` last). */
const loopEvents = (lm: LanguageModel, options: ToolLoopOptions) =>
  Effect.suspend(() => {
    const events: Array<LoopEvent> = []
    return Effect.as(runToolLoop(lm, options, (e) => Effect.sync(() => void events.push(e))), events)
  })

const settings = (baseUrl: string, key: string) => ({ apiKey: Option.some(Redacted.make(key)), baseUrl: Option.some(baseUrl) })

const rt = suiteRuntime(
  LanguageModel.Default.pipe(
    Layer.provide(LlmConfig.layerWith({
      openai: settings(fakes.openai.baseUrl, "sk-openai-test"),
      anthropic: settings(fakes.anthropic.baseUrl, "sk-ant-test"),
      // The Gemini SDK appends /v1beta/models/...: the base URL is the host.
      google: settings(fakes.google.baseUrl, "google-test-key"),
      timeoutMs: 1_000,
      maxRetries: 2,
      retryBaseDelayMs: 10,
      maxSteps: 4
    }))
  )
)

afterAll(async () => {
  await rt.dispose()
  for (const f of Object.values(fakes)) f.stop()
})
beforeEach(() => {
  for (const f of Object.values(fakes)) f.reset()
})

const models: Record<Exclude<ProviderName, "local">, string> = {
  openai: "gpt-4o-mini",
  anthropic: "claude-3-5-haiku-latest",
  google: "gemini-2.0-flash"
}

const request = (provider: Exclude<ProviderName, "local">, text: string, withTools = false): LlmRequest => ({
  provider,
  model: models[provider],
  messages: [{ role: "system", content: "You are terse." }, { role: "user", content: text }],
  ...(withTools
    ? {
      tools: [{
        name: "get_weather",
        description: "Weather for a city",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false }
      }]
    }
    : {})
})

const llm = <A, E>(f: (lm: LanguageModel) => Effect.Effect<A, E>) => rt.runPromise(Effect.flatMap(LanguageModel, f))

describe.each(["openai", "anthropic", "google"] as const)("%s through the real SDK", (provider) => {
  const fake = () => fakes[provider]

  test("streams text deltas and reports usage", async () => {
    fake().script({ kind: "text", text: "Hello there from the fake model", usage: { input: 21, output: 6 } })
    const events = await llm((lm) =>
      Effect.suspend(() => {
        const seen: Array<LlmEvent> = []
        return Effect.as(lm.respond(request(provider, "hi"), (e) => Effect.sync(() => void seen.push(e))), seen)
      })
    )
    const deltas = events.filter((e) => e._tag === "TextDelta")
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.map((d) => d.text).join("")).toBe("Hello there from the fake model")
    expect(events[events.length - 1]).toEqual({ _tag: "Finish", reason: "stop", usage: { inputTokens: 21, outputTokens: 6 } })
    // The key went in the provider's own header, over the wire to the fake.
    const headers = fake().received[0].headers
    const sentKey = headers["authorization"] ?? headers["x-api-key"] ?? headers["x-goog-api-key"]
    expect(sentKey).toContain(provider === "openai" ? "sk-openai-test" : provider === "anthropic" ? "sk-ant-test" : "google-test-key")
  })

  test("runs the tool loop: tool call → tool result sent back → final answer", async () => {
    fake().script(
      { kind: "tools", calls: [{ name: "get_weather", args: { city: "Paris" } }] },
      { kind: "text", text: "It is sunny in Paris" }
    )
    const calls: Array<unknown> = []
    const events = await llm((lm) =>
      loopEvents(lm, {
        request: request(provider, "weather in Paris?", true),
        maxSteps: 4,
        callTool: (call) => Effect.sync(() => {
          calls.push(call.arguments)
          return { content: "sunny, 21C", isError: false }
        })
      })
    )
    expect(calls).toEqual([{ city: "Paris" }])
    const done = events[events.length - 1]
    expect(done._tag).toBe("Done")
    if (done._tag !== "Done") return
    expect(done.text).toBe("It is sunny in Paris")
    expect(done.steps).toBe(2)
    expect(done.messages.map((m) => m.role)).toEqual(["assistant", "tool", "assistant"])
    expect(done.usage.inputTokens).toBeGreaterThan(0)
    // The second request carried the tool result in the provider's format.
    const second = JSON.stringify(fake().received[1].body)
    expect(second).toContain("sunny, 21C")
    expect(fake().received.length).toBe(2)
    const first = JSON.stringify(fake().received[0].body)
    expect(first).toContain("get_weather")
  })

  test("retries 429 with backoff, then succeeds", async () => {
    fake().script({ kind: "error", status: 429 }, { kind: "error", status: 503 }, { kind: "text", text: "finally" })
    const response = await llm((lm) => lm.generate(request(provider, "retry me")))
    expect(response.text).toBe("finally")
    expect(fake().received.length).toBe(3)
  })

  test("does not retry a 400; gives up on 5xx after maxRetries", async () => {
    fake().script({ kind: "error", status: 400 })
    const bad = await llm((lm) => Effect.flip(lm.generate(request(provider, "bad"))))
    expect(bad).toMatchObject({ _tag: "LlmError", status: 400, retryable: false })
    expect(fake().received.length).toBe(1)
    fake().reset()
    fake().script({ kind: "error", status: 500 }, { kind: "error", status: 500 }, { kind: "error", status: 500 })
    const down = await llm((lm) => Effect.flip(lm.generate(request(provider, "down"))))
    expect(down).toMatchObject({ _tag: "LlmError", status: 500 })
    expect(fake().received.length).toBe(3)
    // The error names the status, never the provider's body or the key.
    expect(down.message).not.toContain("fake error")
  })
})

describe("LanguageModel policy", () => {
  test("times out a provider that does not answer", async () => {
    fakes.openai.script(
      { kind: "delay", ms: 1_500, then: { kind: "text", text: "late" } },
      { kind: "delay", ms: 1_500, then: { kind: "text", text: "late" } },
      { kind: "delay", ms: 1_500, then: { kind: "text", text: "late" } }
    )
    const error = await llm((lm) => Effect.flip(lm.generate(request("openai", "slow"))))
    expect(error._tag).toBe("LlmTimeout")
  }, 10_000)

  test("times out a streamed answer that stalls between two events (accepted at once, then silent)", async () => {
    // Accepted at once, then one word per 1.5 s against a 1 s timeout.
    fakes.openai.script({ kind: "text", text: "first second third", chunkDelayMs: 1_500 })
    const seen: Array<string> = []
    const error = await llm((lm) =>
      Effect.flip(lm.respond(request("openai", "stall"), (e) => Effect.sync(() => void (e._tag === "TextDelta" && seen.push(e.text)))))
    )
    expect(error._tag).toBe("LlmTimeout")
    expect(seen.join("")).not.toContain("third")
  }, 10_000)

  test("an unconfigured provider answers through the local fallback, which says so", async () => {
    const standalone = suiteRuntime(LanguageModel.Default.pipe(Layer.provide(LlmConfig.layerWith({
      openai: { apiKey: Option.none(), baseUrl: Option.none() }
    }))))
    const response = await standalone.runPromise(Effect.flatMap(LanguageModel, (lm) => lm.generate(request("openai", "ping"))))
    await standalone.dispose()
    expect(response.provider).toBe("local")
    expect(response.text.startsWith(LOCAL_PREFIX)).toBe(true)
    expect(response.text).toContain("not a real language model")
    expect(response.text).toContain("You said: ping")
  })

  test("the local model calls a tool the prompt names, then reports its result", async () => {
    const events = await llm((lm) =>
      loopEvents(lm, {
        request: {
          provider: "local",
          model: "local",
          messages: [{ role: "user", content: "please use echo with {\"text\":\"hi\"}" }],
          tools: [{ name: "echo", description: "echo", parameters: { type: "object" } }]
        },
        maxSteps: 3,
        callTool: (call) => Effect.succeed({ content: `echoed ${JSON.stringify(call.arguments)}`, isError: false })
      })
    )
    const done = events[events.length - 1]
    expect(done._tag === "Done" && done.text).toContain("echo returned: echoed {\"text\":\"hi\"}")
    expect(events.some((e) => e._tag === "ToolCallStarted" && e.call.name === "echo")).toBe(true)
  })

  test("the local model maps a plain request onto the agent's tools by keyword rules", async () => {
    const tools = [
      { name: "rag_search", description: "search", parameters: { type: "object", properties: { query: { type: "string" }, k: { type: "integer" } }, required: ["query"] } },
      { name: "http_fetch", description: "fetch", parameters: { type: "object", properties: { url: { type: "string" } }, required: ["url"] } },
      { name: "current_time", description: "now", parameters: { type: "object", properties: {} } }
    ]
    const firstCall = (content: string) =>
      llm((lm) =>
        lm.generate({ provider: "local", model: "local", messages: [{ role: "user", content }], tools })
      ).then((response) => response.toolCalls[0])
    expect(await firstCall("Search the docs for refund policy?")).toMatchObject({ name: "rag_search", arguments: { query: "refund policy" } })
    expect(await firstCall("what do our documents say about onboarding")).toMatchObject({ name: "rag_search" })
    expect(await firstCall("please fetch https://example.com/page.")).toMatchObject({ name: "http_fetch", arguments: { url: "https://example.com/page" } })
    expect(await firstCall("What time is it?")).toMatchObject({ name: "current_time", arguments: {} })
    // Nothing recognised: echoed, no call.
    expect(await firstCall("tell me a joke")).toBeUndefined()
    // A rule whose tool the agent lacks does not fire.
    const none = await llm((lm) => lm.generate({ provider: "local", model: "local", messages: [{ role: "user", content: "search for x" }], tools: [] }))
    expect(none.toolCalls).toEqual([])
    expect(none.text).toContain("You said: search for x")
  })

  test("the loop stops at maxSteps", async () => {
    const events = await llm((lm) =>
      loopEvents(lm, {
        request: {
          provider: "local",
          model: "local",
          messages: [{ role: "user", content: "call loop_tool forever" }],
          tools: [{ name: "loop_tool", description: "x", parameters: { type: "object" } }]
        },
        maxSteps: 1,
        callTool: () => Effect.succeed({ content: "again", isError: false })
      })
    )
    const done = events[events.length - 1]
    expect(done).toMatchObject({ _tag: "Done", finishReason: "max_steps", steps: 1 })
  })
})
