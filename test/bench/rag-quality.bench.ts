/**
 * Retrieval quality: 208 hand-written questions over 52 State of the Union
 * addresses, 1790-2018 (real public-domain texts, test/fixtures/rag/quality:
 * SOURCES.md, rendered as PDF, DOCX, HTML with page chrome and Markdown by its
 * generate.ts), ingested through `DocumentIngestion` with the default offline
 * embedder and chunking, then asked through `RagSearch` in text, vector and
 * hybrid mode, side by side, on the embedded database (PGlite + pgvector) and
 * on a fresh database of the local PostgreSQL 15 with native pgvector.
 *
 * Each question is labelled with its file and a short exact span of the passage
 * that answers it. A hit is a returned chunk of the labelled file that contains
 * the span. Before asking, the bench checks that every span lies whole inside
 * at least one stored chunk (a label no chunk can satisfy would be a miss for
 * every mode). recall@5: share of questions with a hit in the top 5; MRR@10:
 * mean of 1 / rank of the first hit within the top 10 (0 when none).
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { DocumentIngestion } from "../../src/rag/DocumentIngestion.ts"
import { RagSearch } from "../../src/rag/RagSearch.ts"
import type { SearchHit } from "../../src/domain/Rag.ts"
import { createProjects, ragBackends } from "../rag/setup.ts"
import type { BenchResult } from "./BenchResult.ts"

const dir = path.resolve(import.meta.dir, "../fixtures/rag/quality")
interface Question {
  readonly id: number
  readonly question: string
  readonly file: string
  readonly span: string
}
const contentTypes: Record<string, string> = {
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  html: "text/html",
  md: "text/markdown"
}
const modes = ["text", "vector", "hybrid"] as const
type Mode = (typeof modes)[number]

const norm = (s: string) => s.replace(/\s+/g, " ").trim().toLowerCase()
const log = (message: string) => process.stderr.write(`  rag-quality: ${message}\n`)

export const evaluate = async (backend: (typeof ragBackends)[number]) => {
  const questions = JSON.parse(fs.readFileSync(path.join(dir, "questions.json"), "utf8")) as Array<Question>
  const files = fs.readdirSync(path.join(dir, "docs")).sort()
  const rag = await backend.open()
  try {
    await rag.runtime.runPromise(createProjects("quality"))
    const t0 = performance.now()
    await rag.runtime.runPromise(Effect.gen(function*() {
      const ingestion = yield* DocumentIngestion
      for (const file of files) {
        const { document } = yield* ingestion.accept({
          projectId: "quality",
          filename: file,
          contentType: contentTypes[path.extname(file).slice(1)],
          bytes: new Uint8Array(fs.readFileSync(path.join(dir, "docs", file)))
        })
        const result = yield* ingestion.process(document.id)
        if (result.status !== "ready") return yield* Effect.dieMessage(`${file}: ${result.status}`)
      }
    }))
    log(`${backend.name}: ${files.length} documents ingested in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    const chunks = await rag.runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ filename: string; content: string }>`SELECT d.filename, c.content FROM rag_chunks c
        JOIN rag_documents d ON d.id = c.document_id WHERE d.project_id = 'quality'`.pipe(Effect.orDie)))
    const unreachable = questions.filter((q) =>
      !chunks.some((c) => c.filename === q.file && norm(c.content).includes(norm(q.span)))
    )
    if (unreachable.length > 0) {
      throw new Error(`labels in no chunk: ${unreachable.map((q) => `#${q.id} ${q.file}: ${q.span}`).join("; ")}`)
    }
    log(`${backend.name}: ${chunks.length} chunks; every label's span lies inside one of them`)
    const isHit = (q: Question) => (h: SearchHit) => h.filename === q.file && norm(h.content).includes(norm(q.span))
    const scores = {} as Record<Mode, { recall5: number; mrr10: number }>
    const top5 = {} as Record<Mode, Set<number>>
    for (const mode of modes) {
      top5[mode] = new Set()
      let recall5 = 0
      let mrr10 = 0
      for (const q of questions) {
        const result = await rag.runtime.runPromise(
          Effect.flatMap(RagSearch, (s) => s.search({ projectId: "quality", query: q.question, k: 10, mode }))
        )
        const rank = result.hits.findIndex(isHit(q)) + 1
        if (rank >= 1 && rank <= 5) {
          recall5++
          top5[mode].add(q.id)
        }
        if (rank >= 1) mrr10 += 1 / rank
      }
      scores[mode] = { recall5: recall5 / questions.length, mrr10: mrr10 / questions.length }
    }
    log(`${backend.name}: ${JSON.stringify(scores)}`)
    // How complementary the legs are: fusion can only gain on questions one leg answers and the other misses.
    const split = { both: 0, textOnly: 0, vectorOnly: 0, neither: 0 }
    for (const q of questions) {
      const [t, v] = [top5.text.has(q.id), top5.vector.has(q.id)]
      split[t && v ? "both" : t ? "textOnly" : v ? "vectorOnly" : "neither"]++
    }
    log(`${backend.name}: passage in the top 5 of ${JSON.stringify(split)}`)
    return { scores, questions: questions.length, documents: files.length }
  } finally {
    await rag.dispose()
  }
}

export const run = async (): Promise<ReadonlyArray<BenchResult>> => {
  const rows: Array<BenchResult> = []
  for (const backend of ragBackends) {
    const { documents, questions, scores } = await evaluate(backend)
    for (const [metric, key] of [["recall@5", "recall5"], ["MRR@10", "mrr10"]] as const) {
      const best = scores.text[key] >= scores.vector[key] ? "text" : "vector"
      rows.push({
        name: `rag retrieval ${metric}, ${questions} questions / ${documents} documents (PDF/DOCX/HTML/MD), ${backend.name}; ` +
          `text ${scores.text[key].toFixed(3)}, vector ${scores.vector[key].toFixed(3)}`,
        candidate: { label: "hybrid", value: scores.hybrid[key], unit: "" },
        baseline: { label: `best leg (${best})`, value: scores[best][key], unit: "" },
        ratio: scores.hybrid[key] / Math.max(1e-9, scores[best][key]),
        target: "hybrid > both legs",
        met: scores.hybrid[key] > scores.text[key] && scores.hybrid[key] > scores.vector[key]
      })
    }
  }
  return rows
}
