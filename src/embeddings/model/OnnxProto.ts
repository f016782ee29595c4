/**
 * Just enough of the ONNX protobuf wire format (onnx.proto3) to write a small
 * inference graph: no protobuf runtime is a direct dependency, and the subset
 * we need (ModelProto → GraphProto → NodeProto / TensorProto / ValueInfoProto)
 * is a handful of fields. Field numbers are those of onnx/onnx.proto.
 */

class Writer {
  private chunks: Array<Uint8Array> = []
  private size = 0

  private push(bytes: Uint8Array) {
    this.chunks.push(bytes)
    this.size += bytes.length
  }

  private varint(value: number | bigint) {
    let v = BigInt.asUintN(64, BigInt(value))
    const out: Array<number> = []
    do {
      let byte = Number(v & 0x7fn)
      v >>= 7n
      if (v !== 0n) byte |= 0x80
      out.push(byte)
    } while (v !== 0n)
    this.push(Uint8Array.from(out))
  }

  private tag(field: number, wire: number) {
    this.varint((field << 3) | wire)
  }

  int(field: number, value: number | bigint) {
    this.tag(field, 0)
    this.varint(value)
    return this
  }

  bytes(field: number, value: Uint8Array) {
    this.tag(field, 2)
    this.varint(value.length)
    this.push(value)
    return this
  }

  string(field: number, value: string) {
    return this.bytes(field, new TextEncoder().encode(value))
  }

  message(field: number, value: Writer) {
    return this.bytes(field, value.finish())
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size)
    let offset = 0
    for (const c of this.chunks) {
      out.set(c, offset)
      offset += c.length
    }
    return out
  }
}

export const DataType = { FLOAT: 1, INT64: 7 } as const

export interface Tensor {
  readonly name: string
  readonly dims: ReadonlyArray<number>
  readonly dataType: number
  /** Little-endian raw bytes (ONNX `raw_data`). */
  readonly raw: Uint8Array
}

export interface Node {
  readonly opType: string
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
  readonly name: string
  readonly intAttributes?: Record<string, number>
}

export interface ValueInfo {
  readonly name: string
  readonly elemType: number
  /** A number is a fixed size, a string a symbolic one ("batch"). */
  readonly shape: ReadonlyArray<number | string>
}

const tensor = (t: Tensor) => {
  const w = new Writer()
  for (const d of t.dims) w.int(1, d)
  w.int(2, t.dataType)
  w.string(8, t.name)
  w.bytes(9, t.raw)
  return w
}

const node = (n: Node) => {
  const w = new Writer()
  for (const i of n.inputs) w.string(1, i)
  for (const o of n.outputs) w.string(2, o)
  w.string(3, n.name)
  w.string(4, n.opType)
  for (const [name, value] of Object.entries(n.intAttributes ?? {})) {
    // AttributeProto: name = 1, i = 3, type = 20 (INT = 2)
    w.message(5, new Writer().string(1, name).int(3, value).int(20, 2))
  }
  return w
}

const valueInfo = (v: ValueInfo) => {
  const shape = new Writer()
  for (const d of v.shape) {
    shape.message(1, typeof d === "number" ? new Writer().int(1, d) : new Writer().string(2, d))
  }
  const tensorType = new Writer().int(1, v.elemType).message(2, shape)
  const type = new Writer().message(1, tensorType)
  return new Writer().string(1, v.name).message(2, type)
}

/** Serialises a single-graph model (IR version 8, default-domain opset `opset`). */
export const encodeModel = (model: {
  readonly graphName: string
  readonly producer: string
  readonly opset: number
  readonly nodes: ReadonlyArray<Node>
  readonly initializers: ReadonlyArray<Tensor>
  readonly inputs: ReadonlyArray<ValueInfo>
  readonly outputs: ReadonlyArray<ValueInfo>
}): Uint8Array => {
  const graph = new Writer()
  for (const n of model.nodes) graph.message(1, node(n))
  graph.string(2, model.graphName)
  for (const t of model.initializers) graph.message(5, tensor(t))
  for (const i of model.inputs) graph.message(11, valueInfo(i))
  for (const o of model.outputs) graph.message(12, valueInfo(o))
  return new Writer()
    .int(1, 8)
    .string(2, model.producer)
    .message(7, graph)
    .message(8, new Writer().string(1, "").int(2, model.opset))
    .finish()
}
