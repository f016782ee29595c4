/**
 * The bundled server of `bun run dev` (issue #22): the platform's ~1,600 modules
 * as a few minified chunks, built at install time by `bun src/app/buildServerBundle.ts`.
 * Bun then parses and links a handful of files instead of every module (effect's
 * index alone loads ~600, fast-check included), about half the import CPU and
 * ~30 MB less memory. main.ts runs the bundle only while it is fresh: every input
 * file is listed with its size and mtime, and one that changed (an edited source,
 * a reinstalled package) sends it back to the sources.
 *
 * Plain Node APIs only: main.ts checks this before anything heavy loads.
 */
import * as fs from "node:fs"
import * as path from "node:path"

/** Inside the checkout so the bundle's external packages resolve from its node_modules. */
export const bundleDir = path.resolve(import.meta.dir, "../../node_modules/.cache/agent-platform-server")

export interface Manifest {
  /** The bundle's entry, relative to bundleDir. */
  readonly entry: string
  readonly bunVersion: string
  /** Every bundled file (absolute path) with the size and mtime it was built from. */
  readonly inputs: Record<string, readonly [size: number, mtimeMs: number]>
}

export const stampOf = (file: string): readonly [number, number] | undefined => {
  try {
    const s = fs.statSync(file)
    return [s.size, s.mtimeMs]
  } catch {
    return undefined
  }
}

/** The bundle's entry file when it was built by this Bun from the files as they are now; else undefined. */
export const freshBundle = (dir = bundleDir): string | undefined => {
  let manifest: Manifest
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Manifest
  } catch {
    return undefined
  }
  if (manifest.bunVersion !== Bun.version) return undefined
  for (const [file, [size, mtimeMs]] of Object.entries(manifest.inputs)) {
    const now = stampOf(file)
    if (now === undefined || now[0] !== size || now[1] !== mtimeMs) return undefined
  }
  const entry = path.join(dir, manifest.entry)
  return fs.existsSync(entry) ? entry : undefined
}
