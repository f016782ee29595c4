import { timingSafeEqual } from "node:crypto"

/** Opaque credentials (refresh tokens, API keys): random, and stored only as a SHA-256 hash. */
export const randomToken = (bytes = 32) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url")

export const sha256Hex = (value: string) => new Bun.CryptoHasher("sha256").update(value).digest("hex")

/** Constant-time comparison of two secrets (different lengths compare unequal). */
export const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

