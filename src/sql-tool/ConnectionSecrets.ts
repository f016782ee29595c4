import { Config, Effect, Option, Redacted } from "effect"

/**
 * AES-256-GCM for connection strings at rest. The key comes from
 * SQL_TOOL_SECRET_KEY (any string; SHA-256 makes it 32 bytes). Unset, a fixed
 * development key is used and a warning logged: fine on a laptop, never in
 * production. The row's project and connection ids are the additional
 * authenticated data, so a ciphertext copied onto another row fails to open.
 */
const DEV_KEY = "agent-platform/sql-tool/development-key (set SQL_TOOL_SECRET_KEY)"

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"))

export class SecretUnreadable extends Error {
  override readonly name = "SecretUnreadable"
}

export class ConnectionSecrets extends Effect.Service<ConnectionSecrets>()("SqlTool/ConnectionSecrets", {
  effect: Effect.gen(function*() {
    const configured = yield* Config.option(Config.redacted("SQL_TOOL_SECRET_KEY")).pipe(Effect.orDie)
    if (Option.isNone(configured)) {
      yield* Effect.logWarning("SQL_TOOL_SECRET_KEY is unset: SQL connection strings are encrypted with a development key")
    }
    const material = Option.match(configured, { onNone: () => DEV_KEY, onSome: Redacted.value })
    const digest = yield* Effect.promise(() => crypto.subtle.digest("SHA-256", new TextEncoder().encode(material)))
    const key = yield* Effect.promise(() =>
      crypto.subtle.importKey("raw", digest, { name: "AES-GCM" }, false, ["encrypt", "decrypt"])
    )
    const aad = (parts: ReadonlyArray<string>) => new TextEncoder().encode(parts.join("\u0000"))

    /** `v1.<iv>.<ciphertext+tag>` (base64). */
    const seal = (plaintext: Redacted.Redacted<string>, context: ReadonlyArray<string>) =>
      Effect.promise(async () => {
        const iv = crypto.getRandomValues(new Uint8Array(12))
        const sealed = await crypto.subtle.encrypt(
          { name: "AES-GCM", iv, additionalData: aad(context) },
          key,
          new TextEncoder().encode(Redacted.value(plaintext))
        )
        return `v1.${b64(iv)}.${b64(new Uint8Array(sealed))}`
      })

    const open = (blob: string, context: ReadonlyArray<string>) =>
      Effect.tryPromise({
        try: async () => {
          const [version, iv, body] = blob.split(".")
          if (version !== "v1" || !iv || !body) throw new SecretUnreadable("unknown format")
          const plain = await crypto.subtle.decrypt(
            { name: "AES-GCM", iv: unb64(iv), additionalData: aad(context) },
            key,
            unb64(body)
          )
          return Redacted.make(new TextDecoder().decode(plain))
        },
        catch: () => new SecretUnreadable("connection secret cannot be decrypted with the configured key")
      })

    return { seal, open } as const
  })
}) {}
