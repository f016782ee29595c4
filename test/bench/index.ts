/**
 * `bun run bench`: runs every `test/bench/*.bench.ts` (each exports
 * `run(): Promise<ReadonlyArray<BenchResult>>`) and prints one table of
 * candidate vs baseline measured side by side in this run.
 * `bun run bench <name>` runs only the files whose name contains <name>.
 */
import * as path from "node:path"
import type { BenchResult } from "./BenchResult.ts"

const filter = process.argv[2]
const dir = import.meta.dir
const files = [...new Bun.Glob("*.bench.ts").scanSync({ cwd: dir })].sort().filter((f) => !filter || f.includes(filter))

const results: Array<BenchResult & { file: string }> = []
for (const file of files) {
  const mod = (await import(path.join(dir, file))) as { run: () => Promise<ReadonlyArray<BenchResult>> }
  process.stderr.write(`running ${file}...\n`)
  try {
    for (const r of await mod.run()) results.push({ ...r, file })
  } catch (e) {
    process.stderr.write(`  ${file} failed: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exitCode = 1
  }
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3))
console.log("| benchmark | candidate | baseline | ratio | target | met |")
console.log("|---|---|---|---|---|---|")
for (const r of results) {
  const cand = `${r.candidate.label}: ${fmt(r.candidate.value)} ${r.candidate.unit}`
  const base = r.baseline ? `${r.baseline.label}: ${fmt(r.baseline.value)} ${r.baseline.unit}` : "—"
  const ratio = r.ratio === undefined ? "—" : `${fmt(r.ratio)}×`
  const met = r.met === undefined ? "—" : r.met ? "yes" : "NO"
  console.log(`| ${r.name} | ${cand} | ${base} | ${ratio} | ${r.target ?? "—"} | ${met} |`)
}
