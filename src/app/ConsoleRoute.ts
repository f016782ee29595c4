import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { fileURLToPath } from "node:url"
import { jsonError } from "../kernel/JsonError.ts"

/**
 * The web console (src/console) served by the platform itself: `GET /` is the
 * HTML shell, `/console/app.js` and `/console/app.css` its bundle. The bundle
 * is built by `Bun.build` at the first request and kept in memory, so a fresh
 * clone needs no build step and no test process pays for it unless it opens
 * the console. Every asset is local: the console works without internet.
 */
export const CONSOLE_PATHS = { shell: "/", script: "/console/app.js", style: "/console/app.css" } as const
/** Paths that serve the shell too: the console's page for MCP OAuth redirects (the default MCP_OAUTH_REDIRECT_URL). */
const SHELL_ALIASES = ["/oauth/mcp/callback"] as const

const ENTRY = fileURLToPath(new URL("../console/main.tsx", import.meta.url))

interface Asset {
  readonly body: Uint8Array
  /** Compressed once at build: the script is ~3x smaller over the wire. */
  readonly gzip: Uint8Array
  readonly contentType: string
  readonly etag: string
}

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Agent Platform console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${CONSOLE_PATHS.style}">
</head>
<body>
<div id="app"><p style="padding:1rem">Loading the console…</p></div>
<noscript>The console needs JavaScript. The API is documented at <a href="/docs">/docs</a>.</noscript>
<script type="module" src="${CONSOLE_PATHS.script}"></script>
</body>
</html>
`

const assetOf = (body: Uint8Array<ArrayBuffer>, contentType: string): Asset => ({
  body,
  gzip: Bun.gzipSync(body),
  contentType,
  etag: `"${Bun.hash(body).toString(36)}"`
})

const buildAssets = async (): Promise<Map<string, Asset>> => {
  const result = await Bun.build({ entrypoints: [ENTRY], target: "browser", minify: true, naming: "app.[ext]" })
  if (!result.success) throw new Error(result.logs.map((l) => String(l)).join("\n"))
  const assets = new Map<string, Asset>()
  for (const output of result.outputs) {
    const bytes = new Uint8Array(await output.arrayBuffer())
    if (output.path.endsWith(".js")) assets.set(CONSOLE_PATHS.script, assetOf(bytes, "text/javascript; charset=utf-8"))
    if (output.path.endsWith(".css")) assets.set(CONSOLE_PATHS.style, assetOf(bytes, "text/css; charset=utf-8"))
  }
  // A console without styles still has to answer its stylesheet URL.
  if (!assets.has(CONSOLE_PATHS.style)) assets.set(CONSOLE_PATHS.style, assetOf(new Uint8Array(), "text/css; charset=utf-8"))
  assets.set(CONSOLE_PATHS.shell, assetOf(new TextEncoder().encode(SHELL), "text/html; charset=utf-8"))
  return assets
}

// One build per process, shared by every platform it runs; a failed build is retried on the next request.
let built: Promise<Map<string, Asset>> | undefined
export const consoleAssets = (): Promise<Map<string, Asset>> => {
  built ??= buildAssets().catch((e) => {
    built = undefined
    throw e
  })
  return built
}

/**
 * The shell's content policy: the bundle and its stylesheet from this origin only, API calls and
 * WebSockets to this origin, no plugins, never framed. Inline styles stay allowed (the shell's
 * loading text and Preact's style props); inline scripts do not.
 */
const CONSOLE_CONTENT_POLICY =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

const serve = (path: string) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const assets = yield* Effect.tryPromise(consoleAssets).pipe(Effect.either)
    if (assets._tag === "Left") {
      yield* Effect.logError("console build failed", assets.left)
      return jsonError(500, "ConsoleUnavailable", "the console could not be built; see the server log")
    }
    const asset = assets.right.get(path)!
    const headers = {
      etag: asset.etag,
      // Revalidate every load: the bundle changes with the code, its URL does not.
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      // (The CORS layer replaces Vary with Origin when it runs; browsers all send gzip anyway.)
      vary: "accept-encoding",
      ...(path === CONSOLE_PATHS.shell ? { "content-security-policy": CONSOLE_CONTENT_POLICY } : {})
    }
    if (request.headers["if-none-match"] === asset.etag) return HttpServerResponse.empty({ status: 304, headers })
    if (/\bgzip\b/.test(request.headers["accept-encoding"] ?? "")) {
      return HttpServerResponse.uint8Array(asset.gzip, { contentType: asset.contentType, headers: { ...headers, "content-encoding": "gzip" } })
    }
    return HttpServerResponse.uint8Array(asset.body, { contentType: asset.contentType, headers })
  })

export const ConsoleRoute = HttpLayerRouter.use((router) =>
  Effect.all(
    [
      ...Object.values(CONSOLE_PATHS).map((path) => router.add("GET", path, serve(path))),
      ...SHELL_ALIASES.map((path) => router.add("GET", path, serve(CONSOLE_PATHS.shell)))
    ],
    { discard: true }
  )
)

export const CONSOLE_ROUTES = [...Object.values(CONSOLE_PATHS), ...SHELL_ALIASES].map((path) => ({ method: "GET", path }))
