import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** A fresh directory under the OS temp dir; `remove()` deletes it. */
export const makeTempDir = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`))
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}
