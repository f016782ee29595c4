import { afterAll, describe, expect, test } from "bun:test"
import * as fs from "node:fs"
import * as path from "node:path"
import { freshBundle, type Manifest } from "../../src/app/ServerBundle.ts"
import { signUp } from "../support/auth.ts"
import { spawnPlatform } from "../support/process.ts"
import { makeTempDir } from "../support/tempDir.ts"

/**
 * Issue #22: `bun run dev` runs the server bundled at install (src/app/buildServerBundle.ts)
 * while every file it was built from is unchanged, and the sources otherwise.
 */
const root = path.resolve(import.meta.dir, "../..")
// Inside the checkout: the bundle's external packages resolve from its node_modules.
fs.mkdirSync(path.join(root, "test/.tmp"), { recursive: true })
const bundleDir = fs.mkdtempSync(path.join(root, "test/.tmp/server-bundle-"))
const tmp = makeTempDir("server-bundle")
afterAll(() => {
  fs.rmSync(bundleDir, { recursive: true, force: true })
  tmp.remove()
})

const writeManifest = (dir: string, manifest: Manifest) => {
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest))
  fs.writeFileSync(path.join(dir, manifest.entry), "")
}

describe("server bundle freshness", () => {
  const input = path.join(tmp.dir, "input.ts")
  const stamp = () => {
    const s = fs.statSync(input)
    return [s.size, s.mtimeMs] as const
  }

  test("fresh while its inputs are unchanged; an edited, removed or differently built input makes it stale", () => {
    fs.writeFileSync(input, "export const a = 1\n")
    const dir = path.join(tmp.dir, "bundle")
    writeManifest(dir, { entry: "Serve.js", bunVersion: Bun.version, inputs: { [input]: stamp() } })
    expect(freshBundle(dir)).toBe(path.join(dir, "Serve.js"))

    fs.appendFileSync(input, "export const b = 2\n")
    expect(freshBundle(dir)).toBeUndefined()

    writeManifest(dir, { entry: "Serve.js", bunVersion: Bun.version, inputs: { [input]: stamp() } })
    expect(freshBundle(dir)).toBe(path.join(dir, "Serve.js"))
    fs.rmSync(input)
    expect(freshBundle(dir)).toBeUndefined()

    fs.writeFileSync(input, "export const a = 1\n")
    writeManifest(dir, { entry: "Serve.js", bunVersion: "0.0.0", inputs: { [input]: stamp() } })
    expect(freshBundle(dir)).toBeUndefined()
  })

  test("no bundle: undefined", () => {
    expect(freshBundle(path.join(tmp.dir, "none"))).toBeUndefined()
  })
})

describe("the bundled server", () => {
  test("is built from the platform's sources and migrates and serves a fresh data dir", async () => {
    const build = Bun.spawnSync(["bun", "src/app/buildServerBundle.ts", bundleDir], { cwd: root })
    expect(build.stdout.toString()).toContain("server bundle:")
    const manifest = JSON.parse(fs.readFileSync(path.join(bundleDir, "manifest.json"), "utf8")) as Manifest
    expect(Object.keys(manifest.inputs)).toContain(path.join(root, "src/app/Serve.ts"))
    expect(Object.keys(manifest.inputs)).toContain(path.join(root, "sql"))
    const entry = path.join(bundleDir, manifest.entry)

    // A fresh data dir (a copy of the machine's initialised, unmigrated template, or initdb
    // where there is none): the migrations run from the bundle's own chunks.
    const platform = await spawnPlatform({ DATA_DIR: path.join(tmp.dir, "data") }, entry)
    try {
      const user = await signUp(platform.baseUrl)
      const created = await fetch(`${platform.baseUrl}/agents`, {
        method: "POST",
        headers: { ...user.headers, "content-type": "application/json" },
        body: JSON.stringify({ projectId: user.projectId, name: "bundled", systemPrompt: "be brief" })
      })
      expect(created.status).toBe(201)
      const listed = await fetch(`${platform.baseUrl}/agents?projectId=${user.projectId}`, { headers: user.headers })
      expect(await listed.text()).toContain("bundled")
    } finally {
      await platform.kill("SIGTERM")
    }
  }, 180_000)
})
