/**
 * `bun src/db/prepareTemplate.ts` (the package's postinstall): creates the
 * embedded database's pre-initialised data dir template (embedded/DataDir.ts)
 * once per machine, so that a first `bun run dev` copies it instead of
 * running initdb. Never fails the install: without a template the first
 * start runs initdb and saves one.
 */
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { templateRootFrom } from "../config/EmbeddedTemplateRoot.ts"
import { isInitialized, templateDir } from "./embedded/DataDir.ts"
import { EmbeddedPostgres } from "./EmbeddedPostgres.ts"

const root = templateRootFrom(process.env.EMBEDDED_PG_TEMPLATE_DIR)
if (root === undefined) {
  console.log("embedded database template: off (EMBEDDED_PG_TEMPLATE_DIR=off)")
} else if (isInitialized(templateDir(root))) {
  console.log(`embedded database template: ${templateDir(root)} (exists)`)
} else {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "agent-platform-template-"))
  const t0 = performance.now()
  // Opening a fresh data dir runs initdb and saves the result as the template.
  const exit = await Effect.runPromiseExit(
    Layer.build(EmbeddedPostgres.layer({ dataDir: scratch, maxConnections: 1, sharedBuffers: "16MB", templateDir: root })).pipe(
      Effect.scoped
    )
  )
  fs.rmSync(scratch, { recursive: true, force: true })
  console.log(
    exit._tag === "Success" && isInitialized(templateDir(root))
      ? `embedded database template: ${templateDir(root)} created in ${Math.round(performance.now() - t0)} ms`
      : `embedded database template not created (the first start will run initdb): ${exit._tag === "Failure" ? String(exit.cause) : "not writable"}`
  )
}
