/**
 * `bun src/app/buildServerBundle.ts [dir]` (part of the package's postinstall, and `bun run build`):
 * bundles the server of `bun run dev` (src/app/Serve.ts) into ServerBundle's dir (or `dir`), with
 * the manifest main.ts checks. Never fails the install: without a fresh bundle main.ts runs the sources.
 *
 * What must stay outside the bundle:
 * - src/db/embedded/EarlyStart.ts: main.ts imports it from the sources to open the database
 *   first, and the bundle must adopt that same module's worker (one instance of its state);
 * - packages that find files next to their own code (`__dirname`, `import.meta.url`,
 *   `require.resolve`, native `.node` addons): found by a first build, then left external
 *   so they load from node_modules as they are.
 * The platform's own `import.meta.url` / `import.meta.dir` (workers, the API guide, the
 * migrations dir) are replaced by their source file's values, so they keep pointing there.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import type { BunPlugin } from "bun"
import { bundleDir, type Manifest, stampOf } from "./ServerBundle.ts"

const root = path.resolve(import.meta.dir, "../..")
const entry = path.join(root, "src/app/Serve.ts")
const earlyStart = path.join(root, "src/db/embedded/EarlyStart.ts")
const migrationFiles = path.join(root, "src/db/MigrationFiles.ts")
const sqlDir = path.join(root, "sql")
const locatesFiles = /__dirname|__filename|import\.meta\.(url|dir|path|resolve)|require\.resolve|\.node["'`]/

const packageOf = (file: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1]

const plugin = (packagesSeen: Set<string>): BunPlugin => ({
  name: "platform-sources",
  setup(build) {
    build.onResolve({ filter: /EarlyStart(\.ts)?$/ }, (args) => {
      const resolved = path.resolve(path.dirname(args.importer), args.path.endsWith(".ts") ? args.path : `${args.path}.ts`)
      return resolved === earlyStart ? { path: earlyStart, external: true } : undefined
    })
    build.onLoad({ filter: /\.tsx?$/ }, async (args) => {
      const file = args.path
      if (file.includes("/node_modules/")) return undefined
      if (file === migrationFiles) {
        // The migrations, imported statically (lazy chunks) instead of found by a glob at run time.
        const files = [...new Bun.Glob("[0-9][0-9][0-9][0-9]_*.ts").scanSync({ cwd: sqlDir })].sort()
        return {
          loader: "ts",
          contents: `export const migrationModules = () => ({\n${
            files.map((f) => `  ${JSON.stringify(f)}: () => import(${JSON.stringify(path.join(sqlDir, f))}),`).join("\n")
          }\n})\n`
        }
      }
      const text = await Bun.file(file).text()
      return {
        loader: file.endsWith(".tsx") ? "tsx" : "ts",
        contents: text
          .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(file).href))
          .replaceAll("import.meta.dir", JSON.stringify(path.dirname(file)))
      }
    })
    build.onLoad({ filter: /node_modules\/.*\.(c|m)?js$/ }, async (args) => {
      const pkg = packageOf(args.path)
      if (pkg !== undefined && locatesFiles.test(await Bun.file(args.path).text())) packagesSeen.add(pkg)
      return undefined
    })
  }
})

const bundle = (external: Array<string>, outdir: string, seen: Set<string>) =>
  Bun.build({
    entrypoints: [entry],
    target: "bun",
    outdir,
    splitting: true,
    metafile: true,
    external,
    // Whitespace and syntax only: names stay readable in stack traces and logs (Effect.fn spans).
    minify: { whitespace: true, syntax: true, identifiers: false },
    plugins: [plugin(seen)]
  })

/** Bundles, with the stamps of its inputs taken before the build: a file edited meanwhile makes it stale, never wrongly fresh. */
const build = async (external: Array<string>, outdir: string) => {
  const before = new Map<string, readonly [number, number] | undefined>()
  for (const file of new Bun.Glob("{src,sql,entities,rpc}/**/*.{ts,tsx}").scanSync({ cwd: root, absolute: true })) before.set(file, stampOf(file))
  fs.rmSync(outdir, { recursive: true, force: true })
  const result = await bundle(external, outdir, new Set())
  if (!result.success) throw new AggregateError(result.logs, "build failed")
  const inputs: Record<string, readonly [number, number]> = {}
  for (const input of Object.keys(result.metafile!.inputs)) {
    const file = path.resolve(root, input)
    const stamp = before.get(file) ?? stampOf(file)
    if (stamp !== undefined) inputs[file] = stamp
  }
  // Read at build time but not bundled: the migrations dir (a new file) and EarlyStart.
  for (const file of [sqlDir, earlyStart]) inputs[file] = stampOf(file)!
  return inputs
}

const target = path.resolve(process.argv[2] ?? bundleDir)
const t0 = performance.now()
try {
  // First pass: which packages locate files relative to themselves.
  const probeDir = `${target}.probe`
  const seen = new Set<string>()
  const probe = await bundle([], probeDir, seen)
  fs.rmSync(probeDir, { recursive: true, force: true })
  if (!probe.success) throw new AggregateError(probe.logs, "probe build failed")
  const external = [...seen].sort()
  const outdir = `${target}.next`
  const inputs = await build(external, outdir)
  const manifest: Manifest = { entry: "Serve.js", bunVersion: Bun.version, inputs }
  fs.writeFileSync(path.join(outdir, "manifest.json"), JSON.stringify(manifest))
  fs.rmSync(target, { recursive: true, force: true })
  fs.renameSync(outdir, target)
  console.log(
    `server bundle: ${target} (${Object.keys(inputs).length} inputs, external: ${external.join(", ") || "none"}) built in ${
      Math.round(performance.now() - t0)
    } ms`
  )
} catch (cause) {
  console.log(`server bundle not built (\`bun run dev\` runs the sources): ${cause instanceof Error ? cause.message : String(cause)}`)
}
