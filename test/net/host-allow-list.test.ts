import { describe, expect, test } from "bun:test"
import { hostAllowList } from "../../src/net/HostAllowList.ts"

const allows = (list: ReadonlyArray<string>, url: string) => hostAllowList(list)(new URL(url))

describe("hostAllowList (TOOLS_HTTP_FETCH_ALLOW, WORKFLOW_HTTP_ALLOW)", () => {
  test("a host entry matches that host on any port, nothing else", () => {
    expect(allows(["api.example.com"], "https://api.example.com/x")).toBe(true)
    expect(allows(["api.example.com"], "http://API.example.com:8080/x")).toBe(true)
    expect(allows(["api.example.com"], "https://api.example.com.evil.test/")).toBe(false)
    expect(allows(["api.example.com"], "https://evilapi.example.com/")).toBe(false)
  })

  test("*.domain matches subdomains only", () => {
    expect(allows(["*.example.com"], "https://a.b.example.com/")).toBe(true)
    expect(allows(["*.example.com"], "https://example.com/")).toBe(false)
    expect(allows(["*.example.com"], "https://badexample.com/")).toBe(false)
  })

  test("host:port pins the port, the scheme's default port included", () => {
    expect(allows(["example.com:8443"], "https://example.com:8443/")).toBe(true)
    expect(allows(["example.com:8443"], "https://example.com/")).toBe(false)
    expect(allows(["example.com:443"], "https://example.com/")).toBe(true)
    expect(allows(["example.com:80"], "https://example.com/")).toBe(false)
  })

  test("IPv6: bracketed with a port, bare without one (both earlier matchers got one of them wrong)", () => {
    expect(allows(["[::1]:8080"], "http://[::1]:8080/")).toBe(true)
    expect(allows(["[::1]:8080"], "http://[::1]:9090/")).toBe(false)
    expect(allows(["::1"], "http://[::1]:9090/")).toBe(true)
    expect(allows(["[::1]"], "http://[::1]/")).toBe(true)
    expect(allows(["::1"], "http://[::2]/")).toBe(false)
    // A bare v6 address is not read as host ":" port "1".
    expect(allows(["::1"], "http://[::]:1/")).toBe(false)
  })

  test("addresses and CIDR ranges match IP-literal URLs, never a name", () => {
    expect(allows(["10.0.0.0/8"], "http://10.1.2.3/")).toBe(true)
    expect(allows(["10.0.0.0/8"], "http://11.1.2.3/")).toBe(false)
    expect(allows(["10.0.0.0/8"], "http://ten.example/")).toBe(false)
    expect(allows(["127.0.0.1:3000"], "http://127.0.0.1:3000/")).toBe(true)
  })

  test("* admits any http(s) host; other schemes and junk entries admit nothing", () => {
    expect(allows(["*"], "https://anything.test/")).toBe(true)
    expect(allows(["*"], "ftp://anything.test/")).toBe(false)
    expect(allows(["example.com"], "file:///etc/passwd")).toBe(false)
    expect(allows(["example.com:notaport", "", "   "], "https://example.com/")).toBe(false)
    expect(allows([], "https://example.com/")).toBe(false)
  })
})
