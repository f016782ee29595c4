import { describe, expect, test } from "bun:test"
import { Effect, Layer } from "effect"
import { canonicalHost, classifyAddress } from "../../src/net/Address.ts"
import { EgressConfig } from "../../src/net/EgressConfig.ts"
import { EGRESS_REFUSED, EgressPolicy, parseAllowEntry } from "../../src/net/EgressPolicy.ts"

const classOf = (host: string) => {
  const canonical = canonicalHost(host)
  return canonical === undefined ? "invalid" : classifyAddress(canonical)
}

describe("address classifier", () => {
  test.each([
    ["127.0.0.1", "loopback"],
    ["2130706433", "loopback"],
    ["0x7f000001", "loopback"],
    ["0177.0.0.1", "loopback"],
    ["127.1", "loopback"],
    ["0x7f.1", "loopback"],
    ["017700000001", "loopback"],
    ["127.255.255.254", "loopback"],
    ["[::1]", "loopback"],
    ["::1", "loopback"],
    ["0:0:0:0:0:0:0:1", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["0", "unspecified"],
    ["::", "unspecified"],
    ["::ffff:127.0.0.1", "embedded-ipv4"],
    ["[::ffff:7f00:1]", "embedded-ipv4"],
    ["::ffff:8.8.8.8", "embedded-ipv4"],
    ["::127.0.0.1", "embedded-ipv4"],
    ["64:ff9b::127.0.0.1", "embedded-ipv4"],
    ["64:ff9b:1::a00:1", "embedded-ipv4"],
    ["2002:7f00:1::", "embedded-ipv4"],
    ["2001:0:4136:e378::1", "embedded-ipv4"],
    ["10.0.0.1", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["169.254.169.254", "link-local"],
    ["fe80::1", "link-local"],
    ["100.64.0.1", "cgnat"],
    ["100.127.255.255", "cgnat"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["ff02::1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["192.0.2.1", "reserved"],
    ["2001:db8::1", "reserved"],
    ["8.8.8.8", "public"],
    ["172.32.0.1", "public"],
    ["100.128.0.1", "public"],
    ["2606:4700:4700::1111", "public"]
  ])("%s is %s", (host, expected) => {
    expect(classOf(host)).toBe(expected)
  })

  test("a name is never an address", () => {
    expect(classifyAddress("localhost")).toBe("reserved")
    expect(canonicalHost("Example.COM.")).toBe("example.com")
    expect(canonicalHost("exa mple")).toBeUndefined()
  })
})

describe("operator allow-list entries", () => {
  test("hosts, addresses, CIDRs and ports parse; garbage admits nothing", () => {
    expect(parseAllowEntry("10.0.0.0/8")).toMatchObject({ kind: "cidr", cidr: { prefix: 8 }, port: undefined })
    expect(parseAllowEntry("127.0.0.1:5432")).toMatchObject({ kind: "cidr", cidr: { prefix: 32 }, port: 5432 })
    expect(parseAllowEntry("[::1]:8080")).toMatchObject({ kind: "cidr", cidr: { family: 6, prefix: 128 }, port: 8080 })
    expect(parseAllowEntry("fd00::/8")).toMatchObject({ kind: "cidr", cidr: { family: 6, prefix: 8 } })
    expect(parseAllowEntry("127.1")).toMatchObject({ kind: "cidr", cidr: { prefix: 32 } })
    expect(parseAllowEntry("DB.internal:5432")).toEqual({ kind: "host", pattern: "db.internal", port: 5432 })
    expect(parseAllowEntry("*.corp.example")).toEqual({ kind: "host", pattern: "*.corp.example", port: undefined })
    expect(parseAllowEntry("10.0.0.0/33")).toBeUndefined()
    expect(parseAllowEntry("host:99999")).toBeUndefined()
  })
})

const policy = (allow: ReadonlyArray<string>) =>
  <A, E>(f: (p: EgressPolicy) => Effect.Effect<A, E>) =>
    Effect.runPromise(
      Effect.flatMap(EgressPolicy, f).pipe(
        Effect.either,
        Effect.provide(EgressPolicy.Default.pipe(Layer.provide(EgressConfig.layerWith({ allow }))))
      )
    )

describe("EgressPolicy.check", () => {
  test.each([
    "http://127.0.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://0.0.0.0/",
    "http://localhost/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://10.1.2.3/",
    "http://169.254.169.254/latest/meta-data",
    "file:///etc/passwd",
    "ftp://8.8.8.8/",
    "gopher://8.8.8.8/"
  ])("%s is refused with the generic message", async (url) => {
    const result = await policy([])((p) => p.check(url))
    expect(result._tag).toBe("Left")
    if (result._tag === "Left") expect(result.left.message).toBe(EGRESS_REFUSED)
  })

  test("a public address passes and is what the caller connects to", async () => {
    const result = await policy([])((p) => p.check("https://8.8.8.8:8443/x"))
    expect(result).toMatchObject({ _tag: "Right", right: { address: "8.8.8.8", port: 8443, family: 4 } })
  })

  test("the operator allow-list admits loopback by address, CIDR, name and pinned port", async () => {
    expect((await policy(["127.0.0.1"])((p) => p.check("http://2130706433:9/")))._tag).toBe("Right")
    expect((await policy(["127.0.0.0/8"])((p) => p.check("http://localhost/")))).toMatchObject({ right: { address: "127.0.0.1" } })
    expect((await policy(["127.0.0.1:5432"])((p) => p.checkHost("127.0.0.1", 5432)))._tag).toBe("Right")
    expect((await policy(["127.0.0.1:5432"])((p) => p.checkHost("127.0.0.1", 5433)))._tag).toBe("Left")
    // Admitting IPv4 loopback does not admit its IPv6-mapped spelling or ::1.
    expect((await policy(["127.0.0.1"])((p) => p.check("http://[::ffff:127.0.0.1]/")))._tag).toBe("Left")
    expect((await policy(["127.0.0.1"])((p) => p.check("http://[::1]/")))._tag).toBe("Left")
  })
})
