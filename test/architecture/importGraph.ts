import { Glob } from "bun"
import * as path from "node:path"

/**
 * The project's import graph as the layer rules see it: every non-test .ts
 * file under src/, entities/, rpc/ and sql/ with its relative imports
 * (static, `import type`, `export ... from` and dynamic `import()`).
 */
export interface ImportEdge {
  readonly from: string
  readonly to: string
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?[^'";]*?\sfrom\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|^import\s+["']([^"']+)["']/gm

/** Relative import specifiers of one file's text (comments stripped so examples in docs do not count). */
export const importsOf = (text: string): ReadonlyArray<string> => {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")
  const specs: Array<string> = []
  for (const m of code.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]
    if (spec.startsWith(".")) specs.push(spec)
  }
  return specs
}

export const readGraph = async (root: string): Promise<ReadonlyArray<ImportEdge>> => {
  const edges: Array<ImportEdge> = []
  for (const dir of ["src", "entities", "rpc", "sql"]) {
    for (const file of new Glob(`${dir}/**/*.{ts,tsx}`).scanSync(root)) {
      if (file.endsWith(".test.ts")) continue
      const text = await Bun.file(path.join(root, file)).text()
      for (const spec of importsOf(text)) {
        edges.push({ from: file, to: path.normalize(path.join(path.dirname(file), spec)) })
      }
    }
  }
  return edges
}

/** The top-level module a file belongs to: `entities`, `rpc`, `sql`, `src/<folder>`, or `entry` (src/main.ts, src/runner.ts). */
export const moduleOf = (file: string): string => {
  const parts = file.split("/")
  if (parts[0] !== "src") return parts[0]
  if (parts.length === 2) return "entry"
  if (parts[1] === "domain" && parts[2] === "api" && parts.length > 3) return "src/domain/api"
  return `src/${parts[1]}`
}

/**
 * Layers from the bottom up (../shared/ARCHITECTURE.md). A module may import
 * its own layer or a lower one; within a layer the module graph must stay acyclic.
 */
export const LAYERS: ReadonlyArray<{ readonly name: string; readonly modules: ReadonlyArray<string> }> = [
  { name: "kernel", modules: ["src/kernel"] },
  { name: "domain", modules: ["src/domain"] },
  { name: "contracts", modules: ["src/domain/api", "entities", "rpc"] },
  // The typed clients import only contracts; the CLI only the clients (never a server implementation).
  { name: "client", modules: ["src/client"] },
  { name: "cli", modules: ["src/cli"] },
  { name: "infrastructure", modules: ["src/config", "src/db", "src/cluster", "src/events", "src/http", "src/net", "sql"] },
  { name: "capabilities", modules: ["src/llm", "src/embeddings", "src/mcp"] },
  {
    name: "features",
    modules: [
      "src/auth",
      "src/gateway",
      "src/agents",
      "src/a2a",
      "src/orchestrator",
      "src/rag",
      "src/tools",
      "src/sql-tool",
      "src/workflows",
      "src/observability",
      "src/system",
      "src/health"
    ]
  },
  // src/console is browser code that talks HTTP to the platform: the edge, beside src/app (its own
  // test, test/console/serving.test.ts, keeps it to contracts, domain and kernel).
  { name: "app", modules: ["src/app", "src/console"] },
  { name: "entry", modules: ["entry"] }
]

export const layerOf = (module: string): number => LAYERS.findIndex((l) => l.modules.includes(module))

/** Strongly connected components with more than one member (Tarjan). */
export const cycles = (edges: ReadonlyArray<readonly [string, string]>): ReadonlyArray<ReadonlyArray<string>> => {
  const next = new Map<string, Set<string>>()
  for (const [a, b] of edges) {
    if (!next.has(a)) next.set(a, new Set())
    if (!next.has(b)) next.set(b, new Set())
    next.get(a)!.add(b)
  }
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const found: Array<Array<string>> = []
  const visit = (v: string) => {
    index.set(v, counter)
    low.set(v, counter)
    counter++
    stack.push(v)
    onStack.add(v)
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!))
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1) found.push(component.sort())
    }
  }
  for (const v of next.keys()) if (!index.has(v)) visit(v)
  return found
}

/** Files that wire implementations (layers, handlers, routes): only the composition root may import them across modules. */
export const isWiring = (file: string) => /(Live|Http|Routes)\.ts$/.test(path.basename(file))
