import { HttpApi } from "@effect/platform"
import type { HttpApiGroup } from "@effect/platform"

/**
 * The (method, path) pairs of an HttpApi, to tell 405 (path exists, other
 * method) from 404 in the fallback route.
 */
export const routeTable = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  extra: ReadonlyArray<{ readonly method: string; readonly path: string }> = []
) => {
  const routes: Array<{ method: string; pattern: RegExp }> = []
  const add = (method: string, path: string) =>
    routes.push({
      method: method.toUpperCase(),
      pattern: new RegExp(
        "^" + path.split("/").map((seg) => (seg.startsWith(":") ? "[^/]+" : seg === "*" ? ".*" : escape(seg))).join("/") +
          "/?$"
      )
    })
  HttpApi.reflect(api as unknown as HttpApi.HttpApi<string, HttpApiGroup.HttpApiGroup.Any, unknown, unknown>, {
    onGroup() {},
    onEndpoint({ endpoint }) {
      add(endpoint.method, endpoint.path)
    }
  })
  for (const r of extra) add(r.method, r.path)
  return {
    allowedMethods(path: string): ReadonlyArray<string> {
      const methods = new Set<string>()
      for (const r of routes) if (r.pattern.test(path)) methods.add(r.method)
      return [...methods]
    }
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
