import { Config, Effect, Option, Schema } from "effect"
import {
  DelegationLoop,
  DeliveryFailed,
  HopMetadata,
  StepLimitExceeded,
  type DelegateRequest,
  type FanOutRequest,
  type HandoffRequest,
  type Step,
  type SuperviseRequest
} from "../domain/Orchestration.ts"
import { Router } from "./Router.ts"
import * as Values from "../config/Values.ts"

export const PatternsConfig = Config.all({
  /** Longest delegation chain (A→B→C... counts hops) before it is refused. */
  maxHops: Values.positiveInteger("ORCHESTRATOR_MAX_HOPS").pipe(Config.withDefault(8))
})

type StepT = typeof Step.Type
const decodeHops = Schema.decodeUnknownOption(HopMetadata)

/** The hop bookkeeping in a message's metadata (`orchestrator`), or a fresh chain. */
export const hopsOf = (metadata: Record<string, unknown> | undefined): HopMetadata =>
  Option.getOrElse(decodeHops(metadata?.orchestrator), () => ({ hops: 0, visited: [] }))

const FINAL = /^\s*FINAL\s*:\s*([\s\S]*)$/i
const DELEGATE = /^\s*DELEGATE\s+([^\s:]+)\s*:\s*([\s\S]*)$/i

/**
 * Multi-agent patterns over reliable delivery: every step is a delivery with
 * its own idempotency key (operation id + step), so a retried step is the same
 * message and every hop is recorded as an A2A flow by the delivery engine.
 */
export class Patterns extends Effect.Service<Patterns>()("Orchestrator/Patterns", {
  effect: Effect.gen(function*() {
    const router = yield* Router
    const config = yield* PatternsConfig.pipe(Effect.orDie)

    /** One synchronous hop; a dead-lettered or unfinished delivery fails the pattern. */
    const ask = (
      projectId: string,
      from: string | undefined,
      to: string,
      text: string,
      key: string,
      metadata: Record<string, unknown> = {}
    ) =>
      Effect.gen(function*() {
        const record = yield* router.submit({ projectId, from, to, text, idempotencyKey: key, metadata, mode: "sync" })
        if (record.status !== "delivered" || record.reply === null) {
          return yield* new DeliveryFailed({
            message: record.status === "pending"
              ? `agent ${to} has not answered yet (delivery still pending)`
              : `delivery to ${to} failed: ${record.lastError ?? "unknown error"}`,
            deliveryId: record.deliveryId,
            to
          })
        }
        return { agent: to, input: text, output: record.reply.text, deliveryId: record.deliveryId } satisfies StepT
      })

    const delegate = Effect.fn("Patterns.delegate")(function*(req: typeof DelegateRequest.Type) {
      const chain = hopsOf(req.metadata)
      const visited = chain.visited.includes(req.from) ? chain.visited : [...chain.visited, req.from]
      if (visited.includes(req.to)) {
        return yield* new DelegationLoop({
          message: `delegation cycle: ${[...visited, req.to].join(" -> ")}`,
          visited,
          hops: chain.hops
        })
      }
      if (chain.hops + 1 > config.maxHops) {
        return yield* new DelegationLoop({
          message: `delegation chain longer than ${config.maxHops} hops`,
          visited,
          hops: chain.hops
        })
      }
      const hops = chain.hops + 1
      const metadata = { ...req.metadata, orchestrator: { hops, visited: [...visited, req.to] } }
      const step = yield* ask(req.projectId, req.from, req.to, req.text, `delegate:${crypto.randomUUID()}`, metadata)
      return { reply: step.output, deliveryId: step.deliveryId, hops }
    })

    const handoff = Effect.fn("Patterns.handoff")(function*(req: typeof HandoffRequest.Type) {
      const op = crypto.randomUUID()
      const steps: Array<StepT> = []
      let input = req.text
      for (const [i, agent] of req.agents.entries()) {
        const step = yield* ask(req.projectId, req.agents[i - 1], agent, input, `handoff:${op}:${i}`)
        steps.push(step)
        input = step.output
      }
      return { output: input, steps }
    })

    const fanOut = Effect.fn("Patterns.fanOut")(function*(req: typeof FanOutRequest.Type) {
      const op = crypto.randomUUID()
      const branches = yield* Effect.forEach(
        req.agents,
        (agent, i) => ask(req.projectId, undefined, agent, req.text, `fanout:${op}:${i}`),
        { concurrency: "unbounded" }
      )
      if (req.merge.strategy === "concat") {
        return { merged: branches.map((b) => b.output).join(req.merge.separator ?? "\n"), branches, mergeStep: null }
      }
      const prompt = [
        `Merge these ${branches.length} answers to: ${req.text}`,
        ...branches.map((b) => `[${b.agent}] ${b.output}`)
      ].join("\n")
      const mergeStep = yield* ask(req.projectId, undefined, req.merge.agent, prompt, `fanout:${op}:merge`)
      return { merged: mergeStep.output, branches, mergeStep }
    })

    /**
     * The supervisor is asked, each step, for `DELEGATE <worker>: <instruction>`
     * or `FINAL: <answer>`, seeing the transcript so far. The loop stops at
     * `maxSteps` supervisor turns with StepLimitExceeded.
     */
    const supervise = Effect.fn("Patterns.supervise")(function*(req: typeof SuperviseRequest.Type) {
      const op = crypto.randomUUID()
      const steps: Array<StepT> = []
      // The supervisor sees what workers did, not its own earlier prompts (which would nest).
      const work: Array<StepT> = []
      for (let turn = 0; turn < req.maxSteps; turn++) {
        const prompt = [
          `Task: ${req.text}`,
          `Workers: ${req.workers.join(", ")}`,
          "Transcript:",
          ...work.map((s, i) => `[${i + 1}] ${s.agent} <- ${s.input}\n    -> ${s.output}`),
          "Reply with \"DELEGATE <worker>: <instruction>\" or \"FINAL: <answer>\"."
        ].join("\n")
        const decision = yield* ask(req.projectId, undefined, req.supervisor, prompt, `supervise:${op}:${turn}`)
        steps.push(decision)
        const final = FINAL.exec(decision.output)
        if (final) return { output: final[1].trim(), steps }
        const delegation = DELEGATE.exec(decision.output)
        if (!delegation) return { output: decision.output.trim(), steps }
        const [, worker, instruction] = delegation
        if (!req.workers.includes(worker)) {
          const refused = { agent: worker, input: instruction, output: `error: ${worker} is not a worker`, deliveryId: "" }
          steps.push(refused)
          work.push(refused)
          continue
        }
        const done = yield* ask(req.projectId, req.supervisor, worker, instruction, `supervise:${op}:${turn}:w`)
        steps.push(done)
        work.push(done)
      }
      return yield* new StepLimitExceeded({ message: `no FINAL answer within ${req.maxSteps} steps`, steps })
    })

    return { delegate, handoff, fanOut, supervise } as const
  }),
  dependencies: [Router.Default]
}) {}
