import { isIP } from "node:net"

/**
 * IP addresses as the egress policy sees them: parsed to bytes, classified
 * (only globally routable unicast is "public"), matched against CIDRs. Pure,
 * so the classifier is tested without a network.
 */
export interface IpAddress {
  readonly family: 4 | 6
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array
}

export type AddressClass =
  | "public"
  | "unspecified"
  | "loopback"
  | "private"
  | "link-local"
  | "cgnat"
  | "multicast"
  | "broadcast"
  | "reserved"
  /** IPv4-mapped / -compatible, NAT64, 6to4, Teredo: an IPv4 address hides inside. */
  | "embedded-ipv4"

const parseV4 = (text: string): Uint8Array | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined
  return Uint8Array.from(parts.map(Number))
}

const parseV6 = (text: string): Uint8Array | undefined => {
  let body = text
  // An embedded dotted IPv4 tail (::ffff:127.0.0.1) is the last two 16-bit groups.
  const lastColon = body.lastIndexOf(":")
  if (body.slice(lastColon + 1).includes(".")) {
    const v4 = parseV4(body.slice(lastColon + 1))
    if (v4 === undefined) return undefined
    body = `${body.slice(0, lastColon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`
  }
  const halves = body.split("::")
  if (halves.length > 2) return undefined
  const group = (s: string) => (s === "" ? [] : s.split(":"))
  const head = group(halves[0])
  const rest = halves.length === 2 ? group(halves[1]) : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest]
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined
  const bytes = new Uint8Array(16)
  groups.forEach((g, i) => {
    const w = parseInt(g, 16)
    bytes[2 * i] = w >> 8
    bytes[2 * i + 1] = w & 0xff
  })
  return bytes
}

/** A canonical address (dotted IPv4 or IPv6, brackets allowed); anything else is undefined. */
export const parseIp = (text: string): IpAddress | undefined => {
  const bare = text.replace(/^\[|\]$/g, "")
  switch (isIP(bare)) {
    case 4: {
      const bytes = parseV4(bare)
      return bytes && { family: 4, bytes }
    }
    case 6: {
      const bytes = parseV6(bare.toLowerCase())
      return bytes && { family: 6, bytes }
    }
    default:
      return undefined
  }
}

export interface Cidr {
  readonly family: 4 | 6
  readonly bytes: Uint8Array
  readonly prefix: number
}

export const inCidr = (ip: IpAddress, cidr: Cidr): boolean => {
  if (ip.family !== cidr.family) return false
  let bits = cidr.prefix
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if ((ip.bytes[i] & mask) !== (cidr.bytes[i] & mask)) return false
  }
  return true
}

/** `10.0.0.0/8`, `fc00::/7`, or a bare address (a /32 or /128). */
export const parseCidr = (text: string): Cidr | undefined => {
  const [addr, len, extra] = text.split("/")
  if (extra !== undefined) return undefined
  const ip = parseIp(addr)
  if (ip === undefined) return undefined
  const max = ip.family === 4 ? 32 : 128
  const prefix = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN
  if (!(prefix >= 0 && prefix <= max)) return undefined
  return { family: ip.family, bytes: ip.bytes, prefix }
}

const table = (entries: ReadonlyArray<readonly [string, AddressClass]>) =>
  entries.map(([cidr, cls]) => [parseCidr(cidr)!, cls] as const)

// First match wins, so narrower ranges come before the ranges that contain them.
const V4 = table([
  ["0.0.0.0/32", "unspecified"],
  ["0.0.0.0/8", "reserved"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "cgnat"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "reserved"],
  ["192.0.2.0/24", "reserved"],
  ["192.88.99.0/24", "reserved"],
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "reserved"],
  ["198.51.100.0/24", "reserved"],
  ["203.0.113.0/24", "reserved"],
  ["224.0.0.0/4", "multicast"],
  ["255.255.255.255/32", "broadcast"],
  ["240.0.0.0/4", "reserved"]
])

const V6 = table([
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["::ffff:0:0/96", "embedded-ipv4"],
  ["::/96", "embedded-ipv4"],
  ["64:ff9b::/96", "embedded-ipv4"],
  ["64:ff9b:1::/48", "embedded-ipv4"],
  ["2001::/32", "embedded-ipv4"],
  ["2002::/16", "embedded-ipv4"],
  ["2001:db8::/32", "reserved"],
  ["2001::/23", "reserved"],
  ["100::/64", "reserved"],
  ["fc00::/7", "private"],
  ["fe80::/10", "link-local"],
  ["fec0::/10", "private"],
  ["ff00::/8", "multicast"]
])

/** Global unicast: everything else of IPv6 is unassigned or special. */
const GLOBAL_V6 = parseCidr("2000::/3")!

export const classify = (ip: IpAddress): AddressClass => {
  for (const [cidr, cls] of ip.family === 4 ? V4 : V6) if (inCidr(ip, cidr)) return cls
  if (ip.family === 6 && !inCidr(ip, GLOBAL_V6)) return "reserved"
  return "public"
}

/** The class of a textual address; text that is not an address is "reserved" (never public). */
export const classifyAddress = (text: string): AddressClass => {
  const ip = parseIp(text)
  return ip === undefined ? "reserved" : classify(ip)
}

/**
 * The host as a URL parser would canonicalise it, so every numeric spelling
 * of an address (2130706433, 0x7f000001, 0177.0.0.1, 127.1, [::ffff:7f00:1])
 * becomes the one form the classifier reads. Lower-cased, no trailing dot,
 * IPv6 without brackets; undefined when it is not a valid host.
 */
export const canonicalHost = (host: string): string | undefined => {
  const bare = host.trim().replace(/^\[|\]$/g, "")
  if (bare === "") return undefined
  try {
    const parsed = new URL(`http://${bare.includes(":") ? `[${bare}]` : bare}/`).hostname
    return parsed.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase()
  } catch {
    return undefined
  }
}
