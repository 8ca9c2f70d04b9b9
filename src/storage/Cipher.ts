/**
 * Authenticated encryption of secrets at rest (AES-256-GCM).
 *
 * Ciphertext format: `v1.` + base64url(iv[12] | ciphertext | tag[16]).
 * Every encryption draws a fresh random IV. The additional authenticated data
 * (AAD) names the row and field a value belongs to (for example
 * `grant:app_password:<userId>`), so a ciphertext copied into another row or
 * field fails to decrypt instead of silently yielding another user's secret.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from "node:crypto"
import { Context, Data, Effect, Layer, Redacted } from "effect"

export const CIPHER_VERSION = "v1"
const PREFIX = `${CIPHER_VERSION}.`
const ALGORITHM = "aes-256-gcm"
export const KEY_BYTES = 32
const IV_BYTES = 12
const TAG_BYTES = 16

export class CipherError extends Data.TaggedError("CipherError")<{
  readonly reason: "invalid-key" | "unsupported-format" | "malformed" | "authentication-failed"
  readonly message: string
}> {}

export interface CipherShape {
  /** Encrypt `plaintext`, bound to `aad`. */
  readonly encrypt: (plaintext: Redacted.Redacted<string>, aad: string) => Effect.Effect<string>
  /** Decrypt a value produced by `encrypt` with the same key and `aad`. */
  readonly decrypt: (ciphertext: string, aad: string) => Effect.Effect<Redacted.Redacted<string>, CipherError>
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

const makeWithKey = (key: KeyObject): CipherShape => ({
  encrypt: (plaintext, aad) =>
    Effect.sync(() => {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(Buffer.from(aad, "utf8"))
      const body = Buffer.concat([cipher.update(Redacted.value(plaintext), "utf8"), cipher.final()])
      return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url")
    }),
  decrypt: (ciphertext, aad) =>
    Effect.gen(function* () {
      if (!ciphertext.startsWith(PREFIX)) {
        return yield* new CipherError({
          reason: "unsupported-format",
          message: `Encrypted value does not start with the expected version prefix "${PREFIX}"`
        })
      }
      const encoded = ciphertext.slice(PREFIX.length)
      const raw = Buffer.from(encoded, "base64url")
      if (!BASE64URL.test(encoded) || raw.length < IV_BYTES + TAG_BYTES) {
        return yield* new CipherError({ reason: "malformed", message: "Encrypted value is malformed" })
      }
      const iv = raw.subarray(0, IV_BYTES)
      const tag = raw.subarray(raw.length - TAG_BYTES)
      const body = raw.subarray(IV_BYTES, raw.length - TAG_BYTES)
      const plaintext = yield* Effect.try({
        try: () => {
          const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES })
          decipher.setAAD(Buffer.from(aad, "utf8"))
          decipher.setAuthTag(tag)
          return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8")
        },
        catch: () =>
          new CipherError({
            reason: "authentication-failed",
            message: "Encrypted value failed authentication (wrong key, wrong context, or tampered)"
          })
      })
      return Redacted.make(plaintext)
    })
})

/** Build a cipher from a 32-byte key; the bytes are copied into a KeyObject. */
export const make = (key: Redacted.Redacted<Uint8Array>): Effect.Effect<CipherShape, CipherError> =>
  Effect.suspend(() => {
    const bytes = Redacted.value(key)
    return bytes.length === KEY_BYTES
      ? Effect.succeed(makeWithKey(createSecretKey(Buffer.from(bytes))))
      : Effect.fail(
          new CipherError({
            reason: "invalid-key",
            message: `Encryption key must be ${KEY_BYTES} bytes, got ${bytes.length}`
          })
        )
  })

export class Cipher extends Context.Tag("nextcloud-mcp/Cipher")<Cipher, CipherShape>() {
  static readonly make = make
  static readonly layer = (key: Redacted.Redacted<Uint8Array>): Layer.Layer<Cipher, CipherError> =>
    Layer.effect(Cipher, make(key))
}
