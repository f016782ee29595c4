/**
 * Runs the conformance suite's server scenarios against the platform's own
 * `/mcp` endpoint: starts the platform in-process, signs up a user, and puts
 * a loopback proxy in front that adds the user's bearer token (the suite
 * cannot send credentials). Usage: `bun test/mcp/conformanceServer.ts`.
 */
import * as path from "node:path"
import { signUp } from "../support/auth.ts"
import { startPlatform } from "../support/platform.ts"

const platform = await startPlatform()
const user = await signUp(platform.baseUrl)
const proxy = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: (req) => {
    const url = new URL(req.url)
    const headers = new Headers(req.headers)
    headers.set("authorization", user.headers.authorization)
    return fetch(`${platform.baseUrl}${url.pathname}?projectId=${user.projectId}`, {
      method: req.method,
      headers,
      ...(req.method === "GET" || req.method === "HEAD" ? {} : { body: req.body })
    })
  }
})
const cli = path.resolve(import.meta.dir, "../../node_modules/@modelcontextprotocol/conformance/dist/index.js")
const run = Bun.spawn(["bun", cli, "server", "--url", `http://127.0.0.1:${proxy.port}/mcp`, ...process.argv.slice(2)], {
  stdout: "inherit",
  stderr: "inherit"
})
const code = await run.exited
proxy.stop(true)
await platform.stop()
process.exit(code)
