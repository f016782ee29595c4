import { inCidr, parseIp } from "./Address.ts"
import { parseAllowEntry } from "./EgressPolicy.ts"

/**
 * A caller's own host list on top of the egress policy (a tool's
 * `TOOLS_HTTP_FETCH_ALLOW`, a workflow's `WORKFLOW_HTTP_ALLOW`): matched on the
 * URL as written, before any DNS. Entries are spelled as the operator's
 * `EGRESS_ALLOW` ones (one parser for both): `host`, `*.domain` (subdomains
 * only), `a.b.c.d`, a CIDR, `[v6]` or a bare `v6`, each with an optional
 * `:port` (without one any port matches), or `*` for any host. Only http(s)
 * URLs ever pass; an unparseable entry admits nothing.
 */
export const hostAllowList = (allow: ReadonlyArray<string>): (url: URL) => boolean => {
  const any = allow.some((e) => e.trim() === "*")
  const entries = allow.flatMap((e) => {
    const parsed = parseAllowEntry(e)
    return parsed ? [parsed] : []
  })
  return (url) => {
    if (url.protocol !== "http:" && url.protocol !== "https:") return false
    if (any) return true
    const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, "")
    const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port)
    const ip = parseIp(host)
    return entries.some((e) => {
      if (e.port !== undefined && e.port !== port) return false
      if (e.kind === "cidr") return ip !== undefined && inCidr(ip, e.cidr)
      return e.pattern.startsWith("*.") ? host.endsWith(e.pattern.slice(1)) : host === e.pattern
    })
  }
}
