import { Effect, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { AppConfig } from "../config/AppConfig.ts"
import { SqlToolConfig } from "./SqlToolConfig.ts"

/**
 * AES-256-GCM for connection strings at rest. The key comes from
 * SQL_TOOL_SECRET_KEY (any string; SHA-256 makes it 32 bytes); unset in
 * single mode, from a random key made once per data directory
 * (`<DATA_DIR>/.sql-tool-key`, 0600); unset in cluster modes, start-up fails.
 * The row's project and connection ids are the additional authenticated
 * data, so a ciphertext copied onto another row fails to open.
 *
 * Format `v2.<iv>.<ciphertext+tag>`. `v1` blobs were sealed either with
 * SQL_TOOL_SECRET_KEY or, before this key file existed, with a key that was
 * written in this source file: that one can still OPEN a `v1` blob so
 * existing dev data keeps working, and the caller re-seals it as `v2` at once
 * (`reseal`); nothing is ever sealed with it.
 */
const LEGACY_SOURCE_KEY = "agent-platform/sql-tool/development-key (set SQL_TOOL_SECRET_KEY)"

export const KEY_FILE = ".sql-tool-key"

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"))

export class SecretUnreadable extends Error {
  override readonly name = "SecretUnreadable"
}

const aesKey = (material: string) =>
  Effect.promise(async () =>
    crypto.subtle.importKey(
      "raw",
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(material)),
      { name: "AES-GCM" },
      false,
      ["encrypt", "decrypt"]
    )
  )

/** The data directory's own key: created once (exclusive create, 0600), then read. */
const dataDirKey = (dataDir: string) =>
  Effect.try({
    try: () => {
      const file = path.resolve(dataDir, KEY_FILE)
      fs.mkdirSync(path.dirname(file), { recursive: true })
      try {
        fs.writeFileSync(file, Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url"), {
          mode: 0o600,
          flag: "wx"
        })
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
      }
      fs.chmodSync(file, 0o600)
      const key = fs.readFileSync(file, "utf8").trim()
      if (key.length < 32) throw new Error(`${file} does not hold a key`)
      return key
    },
    catch: (e) => new Error(`cannot read or create the SQL tool key file: ${e instanceof Error ? e.message : String(e)}`)
  }).pipe(Effect.orDie)

export class ConnectionSecrets extends Effect.Service<ConnectionSecrets>()("SqlTool/ConnectionSecrets", {
  effect: Effect.gen(function*() {
    const app = yield* AppConfig
    const config = yield* SqlToolConfig
    const material = yield* Option.match(config.secretKey, {
      onSome: (key) => Effect.succeed(Redacted.value(key)),
      onNone: () =>
        app.clusterMode === "single"
          ? dataDirKey(app.dataDir)
          : Effect.dieMessage("SQL_TOOL_SECRET_KEY is required when CLUSTER_MODE is not single")
    })
    const key = yield* aesKey(material)
    const legacy = yield* aesKey(LEGACY_SOURCE_KEY)
    const aad = (parts: ReadonlyArray<string>) => new TextEncoder().encode(parts.join("\u0000"))

    const seal = (plaintext: Redacted.Redacted<string>, context: ReadonlyArray<string>) =>
      Effect.promise(async () => {
        const iv = crypto.getRandomValues(new Uint8Array(12))
        const sealed = await crypto.subtle.encrypt(
          { name: "AES-GCM", iv, additionalData: aad(context) },
          key,
          new TextEncoder().encode(Redacted.value(plaintext))
        )
        return `v2.${b64(iv)}.${b64(new Uint8Array(sealed))}`
      })

    const decrypt = async (k: CryptoKey, iv: string, body: string, context: ReadonlyArray<string>) =>
      new TextDecoder().decode(
        await crypto.subtle.decrypt({ name: "AES-GCM", iv: unb64(iv), additionalData: aad(context) }, k, unb64(body))
      )

    /**
     * The plaintext, and whether the blob must be re-sealed (a `v1` blob: the
     * old source key or an older format) before it is stored again.
     */
    const openChecked = (blob: string, context: ReadonlyArray<string>) =>
      Effect.tryPromise({
        try: async () => {
          const [version, iv, body] = blob.split(".")
          if ((version !== "v1" && version !== "v2") || !iv || !body) throw new SecretUnreadable("unknown format")
          if (version === "v2") return { secret: Redacted.make(await decrypt(key, iv, body, context)), stale: false }
          const plain = await decrypt(key, iv, body, context).catch(() => decrypt(legacy, iv, body, context))
          return { secret: Redacted.make(plain), stale: true }
        },
        catch: () => new SecretUnreadable("connection secret cannot be decrypted with the configured key")
      })

    const open = (blob: string, context: ReadonlyArray<string>) => Effect.map(openChecked(blob, context), (o) => o.secret)

    return { seal, open, openChecked } as const
  })
}) {}
