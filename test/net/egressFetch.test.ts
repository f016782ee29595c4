import { afterAll, describe, expect, test } from "bun:test"
import { Effect, Layer } from "effect"
import { EgressConfig } from "../../src/net/EgressConfig.ts"
import { EGRESS_REFUSED, EgressDenied, EgressPolicy } from "../../src/net/EgressPolicy.ts"

/** Two local servers: `a` (admitted) redirects in every way; `b` is admitted only in the second policy. */
const seen: Array<{ server: string; path: string; method: string; host: string | null; auth: string | null; body: string }> = []
const serve = (name: string, handler: (url: URL) => Response | undefined) =>
  Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      const url = new URL(req.url)
      seen.push({ server: name, path: url.pathname, method: req.method, host: req.headers.get("host"), auth: req.headers.get("authorization"), body: await req.text() })
      return handler(url) ?? Response.json({ server: name, path: url.pathname })
    }
  })
const b = serve("b", () => undefined)
const a = serve("a", (url) => {
  const to = url.searchParams.get("to")
  const status = Number(url.searchParams.get("status") ?? 302)
  return to === null ? undefined : new Response(null, { status, headers: { location: to } })
})
afterAll(() => {
  a.stop(true)
  b.stop(true)
})

const withPolicy = (allow: ReadonlyArray<string>, maxRedirects = 5) =>
  <A>(f: (p: EgressPolicy) => Promise<A>) =>
    Effect.runPromise(
      Effect.flatMap(EgressPolicy, (p) => Effect.promise(() => f(p).then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e })))).pipe(
        Effect.provide(EgressPolicy.Default.pipe(Layer.provide(EgressConfig.layerWith({ allow, maxRedirects }))))
      )
    )

const onlyA = withPolicy([`127.0.0.1:${a.port}`])
const both = withPolicy([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`])
const aUrl = (query: string) => `http://localhost:${a.port}/r?${query}`

describe("EgressPolicy.fetch", () => {
  test("sends to the checked address with the original Host header", async () => {
    const r = await onlyA((p) => p.fetch(`http://localhost:${a.port}/plain`).then((res) => res.json()))
    expect(r).toEqual({ ok: true, v: { server: "a", path: "/plain" } })
    expect(seen.at(-1)).toMatchObject({ server: "a", host: `localhost:${a.port}` })
  })

  test("a redirect to a destination the policy refuses fails with the generic text; nothing reaches it", async () => {
    const before = seen.filter((s) => s.server === "b").length
    for (const to of [`http://127.0.0.1:${b.port}/x`, `http://2130706433:${b.port}/x`, "file:///etc/passwd", "gopher://127.0.0.1/"]) {
      const r = await onlyA((p) => p.fetch(aUrl(`to=${encodeURIComponent(to)}`)))
      expect(r.ok).toBe(false)
      if (!r.ok) {
        expect(r.e).toBeInstanceOf(EgressDenied)
        expect((r.e as Error).message).toBe(EGRESS_REFUSED)
      }
    }
    expect(seen.filter((s) => s.server === "b").length).toBe(before)
  })

  test("303 turns a POST into a GET without body; 307 keeps both; Authorization does not cross origins", async () => {
    const post = (status: number) =>
      both((p) =>
        p.fetch(aUrl(`status=${status}&to=${encodeURIComponent(`http://127.0.0.1:${b.port}/next`)}`), {
          method: "POST",
          headers: { authorization: "Bearer secret", "content-type": "text/plain" },
          body: "payload"
        }).then((res) => res.status)
      )
    expect(await post(303)).toEqual({ ok: true, v: 200 })
    expect(seen.at(-1)).toMatchObject({ server: "b", method: "GET", body: "", auth: null })
    expect(await post(307)).toEqual({ ok: true, v: 200 })
    expect(seen.at(-1)).toMatchObject({ server: "b", method: "POST", body: "payload", auth: null })
  })

  test("redirect loops stop at EGRESS_MAX_REDIRECTS; redirect: manual returns the 3xx as it is", async () => {
    const self = aUrl(`to=${encodeURIComponent(aUrl("to=x"))}`)
    const loop = await withPolicy([`127.0.0.1:${a.port}`], 2)((p) => p.fetch(aUrl(`to=${encodeURIComponent(self)}`)))
    expect(loop.ok).toBe(false)
    // The same three hops within the default budget arrive.
    expect(await onlyA((p) => p.fetch(aUrl(`to=${encodeURIComponent(self)}`)).then((res) => res.status))).toEqual({ ok: true, v: 200 })
    const manual = await onlyA((p) => p.fetch(aUrl(`to=${encodeURIComponent(`http://127.0.0.1:${b.port}/x`)}`), { redirect: "manual" }).then((res) => res.status))
    expect(manual).toEqual({ ok: true, v: 302 })
  })

  test("an admitted but closed port fails with the same text as a refused one", async () => {
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("x") })
    const port = server.port
    server.stop(true)
    const closed = await withPolicy([`127.0.0.1:${port}`])((p) => p.fetch(`http://127.0.0.1:${port}/`))
    const refused = await onlyA((p) => p.fetch(`http://127.0.0.1:${b.port}/`))
    expect(closed.ok || refused.ok).toBe(false)
    if (!closed.ok && !refused.ok) expect((closed.e as Error).message).toBe((refused.e as Error).message)
  })

  test("https: connected by address, the certificate is still verified against the URL's name", async () => {
    // Test-only self-signed certificate for DNS:localhost (no IP in it): it verifies only if the name is used.
    const dir = `${import.meta.dir}/../fixtures/tls`
    const ca = await Bun.file(`${dir}/localhost.crt`).text()
    const tlsServer = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      tls: { cert: Bun.file(`${dir}/localhost.crt`), key: Bun.file(`${dir}/localhost.key`) },
      fetch: (req) => Response.json({ host: req.headers.get("host") })
    })
    try {
      const policy = withPolicy([`127.0.0.1:${tlsServer.port}`])
      const byName = await policy((p) =>
        p.fetchWith(`https://localhost:${tlsServer.port}/`, { tls: { ca } } as RequestInit).then((res) => res.json())
      )
      expect(byName).toEqual({ ok: true, v: { host: `localhost:${tlsServer.port}` } })
      // The same server by address: the certificate does not name 127.0.0.1, so TLS fails (generic text).
      const byAddress = await policy((p) => p.fetchWith(`https://127.0.0.1:${tlsServer.port}/`, { tls: { ca } } as RequestInit))
      expect(byAddress.ok).toBe(false)
      if (!byAddress.ok) expect((byAddress.e as Error).message).toBe(EGRESS_REFUSED)
    } finally {
      tlsServer.stop(true)
    }
  })
})
