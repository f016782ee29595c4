/**
 * Reads at most `maxBytes` of a response body and cancels the rest: a huge
 * (or endless) response from a tenant-chosen server cannot exhaust memory.
 * Shared by HTTP tools and workflow http steps.
 */
export const readCapped = async (res: Response, maxBytes: number) => {
  if (res.body === null) return { text: "", truncated: false }
  const reader = res.body.getReader()
  const chunks: Array<Uint8Array> = []
  let size = 0
  let truncated = false
  while (true) {
    const { done, value } = await reader.read()
    if (done) break
    if (size + value.byteLength > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size))
      truncated = true
      await reader.cancel().catch(() => undefined)
      break
    }
    chunks.push(value)
    size += value.byteLength
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), truncated }
}
