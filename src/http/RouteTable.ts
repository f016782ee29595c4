import { HttpApi } from "@effect/platform"
import type { HttpApiGroup } from "@effect/platform"

/**
 * The (method, path) pairs of an HttpApi, to tell 405 (path exists, other
 * method) from 404 in the fallback route, and which of them take multipart bodies.
 */
export const routeTable = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  extra: ReadonlyArray<{ readonly method: string; readonly path: string }> = []
) => {
  const routes: Array<{ method: string; pattern: RegExp; multipart: boolean }> = []
  const add = (method: string, path: string, multipart = false) =>
    routes.push({
      method: method.toUpperCase(),
      multipart,
      pattern: new RegExp(
        "^" + path.split("/").map((seg) => (seg.startsWith(":") ? "[^/]+" : seg === "*" ? ".*" : escape(seg))).join("/") +
          "/?$"
      )
    })
  HttpApi.reflect(api as unknown as HttpApi.HttpApi<string, HttpApiGroup.HttpApiGroup.Any, unknown, unknown>, {
    onGroup() {},
    onEndpoint({ endpoint, payloads }) {
      add(endpoint.method, endpoint.path, [...payloads.keys()].some((type) => type.startsWith("multipart/")))
    }
  })
  for (const r of extra) add(r.method, r.path)
  return {
    allowedMethods(path: string): ReadonlyArray<string> {
      const methods = new Set<string>()
      for (const r of routes) if (r.pattern.test(path)) methods.add(r.method)
      return [...methods]
    },
    acceptsMultipart(method: string, path: string): boolean {
      return routes.some((r) => r.multipart && r.method === method && r.pattern.test(path))
    }
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
