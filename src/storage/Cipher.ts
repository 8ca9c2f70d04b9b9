/**
 * Authenticated encryption of secrets at rest (AES-256-GCM) under a key
 * ring: one current key that encrypts, and previous keys that still decrypt,
 * so the key can be changed without losing what was stored (`rotate-key`
 * then re-encrypts everything under the current key).
 *
 * Ciphertext formats:
 * - `v2.<kid>.` + base64url(iv[12] | ciphertext | tag[16]), written by
 *   `encrypt`. `kid` names the key: base64url of the first 8 bytes of
 *   SHA-256(key) (11 characters), so decryption picks the key directly. A
 *   key id reveals nothing usable about the key.
 * - `v1.` + base64url(iv | ciphertext | tag), written before key ids
 *   existed: still read, trying the current key, then each previous key.
 *
 * Every encryption draws a fresh random IV. The additional authenticated data
 * (AAD) names the row and field a value belongs to (for example
 * `grant:app_password:<userId>`), so a ciphertext copied into another row or
 * field fails to decrypt instead of silently yielding another user's secret.
 * Errors never carry key material or plaintext.
 */
import { createCipheriv, createDecipheriv, createHash, createSecretKey, type KeyObject, randomBytes } from "node:crypto"
import { Context, Data, Effect, Layer, Redacted } from "effect"

export const CIPHER_VERSION = "v2"
const PREFIX = `${CIPHER_VERSION}.`
const LEGACY_PREFIX = "v1."
const ALGORITHM = "aes-256-gcm"
export const KEY_BYTES = 32
const IV_BYTES = 12
const TAG_BYTES = 16
const KID_BYTES = 8

export class CipherError extends Data.TaggedError("CipherError")<{
  readonly reason: "invalid-key" | "unsupported-format" | "malformed" | "authentication-failed"
  readonly message: string
}> {}

export interface CipherShape {
  /** Encrypt `plaintext` with the current key, bound to `aad`. */
  readonly encrypt: (plaintext: Redacted.Redacted<string>, aad: string) => Effect.Effect<string>
  /**
   * Decrypt a value produced by `encrypt` with the current key or one of the
   * previous keys, under the same `aad`.
   */
  readonly decrypt: (ciphertext: string, aad: string) => Effect.Effect<Redacted.Redacted<string>, CipherError>
  /**
   * True when `ciphertext` is in the current format under the current key,
   * so re-encrypting it would change nothing but the IV. Says nothing about
   * whether it decrypts.
   */
  readonly isCurrent: (ciphertext: string) => boolean
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

interface RingKey {
  readonly kid: string
  readonly key: KeyObject
}

/** The key id: base64url of the first 8 bytes of SHA-256(key). */
export const keyId = (key: Redacted.Redacted<Uint8Array>): string =>
  createHash("sha256").update(Redacted.value(key)).digest().subarray(0, KID_BYTES).toString("base64url")

const malformed = () => new CipherError({ reason: "malformed", message: "Encrypted value is malformed" })

const authenticationFailed = () =>
  new CipherError({
    reason: "authentication-failed",
    message: "Encrypted value failed authentication (wrong key, wrong context, or tampered)"
  })

const unknownKey = () =>
  new CipherError({
    reason: "authentication-failed",
    message: "Encrypted value was made with a key that is neither the current nor a previous key"
  })

/** iv | body | tag from base64url text, or a `malformed` failure. */
const split = (encoded: string) => {
  const raw = Buffer.from(encoded, "base64url")
  if (!BASE64URL.test(encoded) || raw.length < IV_BYTES + TAG_BYTES) return Effect.fail(malformed())
  return Effect.succeed({
    iv: raw.subarray(0, IV_BYTES),
    body: raw.subarray(IV_BYTES, raw.length - TAG_BYTES),
    tag: raw.subarray(raw.length - TAG_BYTES)
  })
}

const open = (key: KeyObject, parts: Effect.Effect.Success<ReturnType<typeof split>>, aad: string) =>
  Effect.try({
    try: () => {
      const decipher = createDecipheriv(ALGORITHM, key, parts.iv, { authTagLength: TAG_BYTES })
      decipher.setAAD(Buffer.from(aad, "utf8"))
      decipher.setAuthTag(parts.tag)
      return Redacted.make(Buffer.concat([decipher.update(parts.body), decipher.final()]).toString("utf8"))
    },
    catch: authenticationFailed
  })

const makeWithRing = (current: RingKey, previous: ReadonlyArray<RingKey>): CipherShape => {
  const ring = [current, ...previous]
  const byKid = new Map(ring.map((k) => [k.kid, k.key] as const))
  const currentPrefix = `${PREFIX}${current.kid}.`
  return {
    encrypt: (plaintext, aad) =>
      Effect.sync(() => {
        const iv = randomBytes(IV_BYTES)
        const cipher = createCipheriv(ALGORITHM, current.key, iv, { authTagLength: TAG_BYTES })
        cipher.setAAD(Buffer.from(aad, "utf8"))
        const body = Buffer.concat([cipher.update(Redacted.value(plaintext), "utf8"), cipher.final()])
        return currentPrefix + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url")
      }),
    decrypt: (ciphertext, aad) =>
      Effect.suspend(() => {
        if (ciphertext.startsWith(PREFIX)) {
          const rest = ciphertext.slice(PREFIX.length)
          const dot = rest.indexOf(".")
          if (dot < 0) return Effect.fail(malformed())
          const key = byKid.get(rest.slice(0, dot))
          return Effect.flatMap(split(rest.slice(dot + 1)), (parts) =>
            key === undefined ? Effect.fail(unknownKey()) : open(key, parts, aad)
          )
        }
        if (ciphertext.startsWith(LEGACY_PREFIX)) {
          // No key id: the first key of the ring that authenticates it.
          return Effect.flatMap(split(ciphertext.slice(LEGACY_PREFIX.length)), (parts) =>
            Effect.firstSuccessOf(ring.map((k) => open(k.key, parts, aad)))
          )
        }
        return Effect.fail(
          new CipherError({
            reason: "unsupported-format",
            message: `Encrypted value does not start with a known version prefix ("${PREFIX}" or "${LEGACY_PREFIX}")`
          })
        )
      }),
    isCurrent: (ciphertext) => ciphertext.startsWith(currentPrefix)
  }
}

const ringKey = (key: Redacted.Redacted<Uint8Array>, which: string): Effect.Effect<RingKey, CipherError> =>
  Effect.suspend(() => {
    const bytes = Redacted.value(key)
    return bytes.length === KEY_BYTES
      ? Effect.succeed({ kid: keyId(key), key: createSecretKey(Buffer.from(bytes)) })
      : Effect.fail(
          new CipherError({
            reason: "invalid-key",
            message: `${which} must be ${KEY_BYTES} bytes, got ${bytes.length}`
          })
        )
  })

/**
 * Build a cipher that encrypts with `key` (32 bytes) and also decrypts what
 * `previousKeys` encrypted. The bytes are copied into KeyObjects; a previous
 * key equal to the current one (or to another previous key) is ignored.
 */
export const make = (
  key: Redacted.Redacted<Uint8Array>,
  previousKeys: ReadonlyArray<Redacted.Redacted<Uint8Array>> = []
): Effect.Effect<CipherShape, CipherError> =>
  Effect.gen(function* () {
    const current = yield* ringKey(key, "Encryption key")
    const previous = yield* Effect.forEach(previousKeys, (k, i) => ringKey(k, `Previous encryption key ${i + 1}`))
    const seen = new Set([current.kid])
    const distinct = previous.filter((k) => !seen.has(k.kid) && seen.add(k.kid) !== undefined)
    return makeWithRing(current, distinct)
  })

export class Cipher extends Context.Tag("nextcloud-mcp/Cipher")<Cipher, CipherShape>() {
  static readonly make = make
  static readonly layer = (
    key: Redacted.Redacted<Uint8Array>,
    previousKeys: ReadonlyArray<Redacted.Redacted<Uint8Array>> = []
  ): Layer.Layer<Cipher, CipherError> => Layer.effect(Cipher, make(key, previousKeys))
}
