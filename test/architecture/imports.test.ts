import { describe, expect, test } from "bun:test"
import * as path from "node:path"
import { cycles, importsOf, isWiring, LAYERS, layerOf, moduleOf, readGraph } from "./importGraph.ts"

const root = path.resolve(import.meta.dir, "../..")
const graph = await readGraph(root)
const crossModule = graph
  .map((e) => ({ ...e, fromModule: moduleOf(e.from), toModule: moduleOf(e.to) }))
  .filter((e) => e.fromModule !== e.toModule)

describe("import graph", () => {
  test("every module belongs to a layer", () => {
    const modules = new Set(graph.flatMap((e) => [moduleOf(e.from), moduleOf(e.to)]))
    expect([...modules].filter((m) => layerOf(m) < 0)).toEqual([])
  })

  test("no cycle between top-level modules", () => {
    expect(cycles(crossModule.map((e) => [e.fromModule, e.toModule] as const))).toEqual([])
  })

  test("no cycle between files", () => {
    expect(cycles(graph.map((e) => [e.from, e.to] as const))).toEqual([])
  })

  test("imports go to the same layer or a lower one", () => {
    const upward = crossModule
      .filter((e) => layerOf(e.toModule) > layerOf(e.fromModule))
      .map((e) => `${e.from} (${LAYERS[layerOf(e.fromModule)].name}) -> ${e.to} (${LAYERS[layerOf(e.toModule)].name})`)
    expect(upward).toEqual([])
  })

  test("contracts (Entity definitions, RpcGroups, HttpApi groups) import only domain schemas and the kernel", () => {
    const contractLayer = LAYERS.findIndex((l) => l.name === "contracts")
    const leaks = crossModule
      .filter((e) => layerOf(e.fromModule) === contractLayer && layerOf(e.toModule) >= contractLayer)
      .map((e) => `${e.from} -> ${e.to}`)
    expect(leaks).toEqual([])
  })

  test("only the composition root (src/app, entry points) imports another module's Live, Http or Routes file", () => {
    const composers = new Set(["src/app", "entry"])
    const wiring = crossModule
      .filter((e) => isWiring(e.to) && !composers.has(e.fromModule))
      .map((e) => `${e.from} -> ${e.to}`)
    expect(wiring).toEqual([])
  })
})

describe("the rules catch what they should", () => {
  test("import specifiers: static, type-only, re-export, dynamic; comments ignored", () => {
    const text = [
      `import { A } from "./a.ts"`,
      `import type { B } from "../b.ts"`,
      `export { C } from "./c.ts"`,
      `const d = await import("./d.ts")`,
      `import { Effect } from "effect"`,
      `// import { E } from "./e.ts"`,
      `/** import { F } from "./f.ts" */`
    ].join("\n")
    expect(importsOf(text)).toEqual(["./a.ts", "../b.ts", "./c.ts", "./d.ts"])
  })

  test("a two-module cycle and a three-module cycle are found; a diamond is not a cycle", () => {
    expect(cycles([["a", "b"], ["b", "a"], ["c", "d"], ["d", "e"], ["e", "c"]]).map((c) => c.join(","))).toEqual([
      "a,b",
      "c,d,e"
    ])
    expect(cycles([["a", "b"], ["a", "c"], ["b", "d"], ["c", "d"]])).toEqual([])
  })

  test("module and layer of a path", () => {
    expect(moduleOf("src/main.ts")).toBe("entry")
    expect(moduleOf("src/domain/api/AgentsApi.ts")).toBe("src/domain/api")
    expect(moduleOf("src/domain/Task.ts")).toBe("src/domain")
    expect(moduleOf("entities/AgentEntity.ts")).toBe("entities")
    expect(layerOf("src/kernel")).toBeLessThan(layerOf("src/domain"))
    expect(layerOf("src/agents")).toBeGreaterThan(layerOf("src/llm"))
    expect(layerOf("src/app")).toBeGreaterThan(layerOf("src/agents"))
    expect(isWiring("src/agents/AgentsLive.ts")).toBe(true)
    expect(isWiring("src/agents/AgentRepo.ts")).toBe(false)
  })
})
