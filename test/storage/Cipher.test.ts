import { describe, expect, it } from "@effect/vitest"
import { createCipheriv, createHash, randomBytes } from "node:crypto"
import { Effect, Exit, FastCheck, Redacted } from "effect"
import { Cipher, CipherError, keyId } from "../../src/storage/Cipher.js"
import { randomKey } from "./fixtures.js"

const key = randomKey()
const withCipher = <A, E>(effect: Effect.Effect<A, E, Cipher>) => Effect.provide(effect, Cipher.layer(key))

const arbPlaintext = FastCheck.string({ unit: "binary", maxLength: 200 })
const arbAad = FastCheck.string({ unit: "binary", maxLength: 60 })

const decryptExit = (ciphertext: string, aad: string) =>
  Effect.flatMap(Cipher, (c) => Effect.exit(c.decrypt(ciphertext, aad)))

const failureReason = (exit: Exit.Exit<unknown, CipherError>) =>
  Exit.match(exit, { onSuccess: () => "success", onFailure: (c) => (c._tag === "Fail" ? c.error.reason : "defect") })

describe("Cipher", () => {
  it.effect.prop("decrypt(encrypt(x)) = x under the same AAD", [arbPlaintext, arbAad], ([plaintext, aad]) =>
    withCipher(
      Effect.gen(function* () {
        const cipher = yield* Cipher
        const ciphertext = yield* cipher.encrypt(Redacted.make(plaintext), aad)
        expect(ciphertext).toMatch(/^v2\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]+$/)
        expect(Redacted.value(yield* cipher.decrypt(ciphertext, aad))).toBe(plaintext)
      })
    ))

  it.effect.prop("another AAD fails to decrypt", [arbPlaintext, arbAad, arbAad], ([plaintext, aad, other]) =>
    withCipher(
      Effect.gen(function* () {
        FastCheck.pre(aad !== other)
        const cipher = yield* Cipher
        const ciphertext = yield* cipher.encrypt(Redacted.make(plaintext), aad)
        expect(failureReason(yield* decryptExit(ciphertext, other))).toBe("authentication-failed")
      })
    ))

  it.effect.prop(
    "any flipped bit is detected",
    [arbPlaintext, FastCheck.nat(), FastCheck.integer({ min: 0, max: 7 })],
    ([plaintext, position, bit]) =>
      withCipher(
        Effect.gen(function* () {
          const cipher = yield* Cipher
          const ciphertext = yield* cipher.encrypt(Redacted.make(plaintext), "aad")
          const head = ciphertext.slice(0, ciphertext.lastIndexOf(".") + 1)
          const raw = Buffer.from(ciphertext.slice(head.length), "base64url")
          const i = position % raw.length
          raw[i] = raw[i]! ^ (1 << bit)
          const tampered = `${head}${raw.toString("base64url")}`
          expect(failureReason(yield* decryptExit(tampered, "aad"))).toBe("authentication-failed")
        })
      )
  )

  it.effect("a fresh IV every time: the same plaintext encrypts differently", () =>
    withCipher(
      Effect.gen(function* () {
        const cipher = yield* Cipher
        const texts = yield* Effect.forEach(Array.from({ length: 50 }), () =>
          cipher.encrypt(Redacted.make("same secret"), "aad")
        )
        const body = (t: string) => Buffer.from(t.slice(t.lastIndexOf(".") + 1), "base64url")
        const ivs = texts.map((t) => body(t).subarray(0, 12).toString("hex"))
        expect(new Set(texts).size).toBe(50)
        expect(new Set(ivs).size).toBe(50)
        // iv 12 + tag 16 + ciphertext as long as the plaintext
        expect(body(texts[0]!).length).toBe(12 + 16 + "same secret".length)
      })
    ))

  it.effect("another key fails to decrypt", () =>
    Effect.gen(function* () {
      const ciphertext = yield* withCipher(Effect.flatMap(Cipher, (c) => c.encrypt(Redacted.make("s3cret"), "aad")))
      const exit = yield* Effect.provide(decryptExit(ciphertext, "aad"), Cipher.layer(randomKey()))
      expect(failureReason(exit)).toBe("authentication-failed")
    }))

  it.effect("unknown versions, bad encodings and truncated values are rejected", () =>
    withCipher(
      Effect.gen(function* () {
        expect(failureReason(yield* decryptExit("v9.AAAA", "aad"))).toBe("unsupported-format")
        expect(failureReason(yield* decryptExit("v2.AAAA", "aad"))).toBe("malformed")
        expect(failureReason(yield* decryptExit("v2.AAAAAAAAAAA.not base64!", "aad"))).toBe("malformed")
        expect(failureReason(yield* decryptExit("plaintext", "aad"))).toBe("unsupported-format")
        expect(failureReason(yield* decryptExit("v1.not base64!", "aad"))).toBe("malformed")
        expect(failureReason(yield* decryptExit("v1.AAAA", "aad"))).toBe("malformed")
        expect(failureReason(yield* decryptExit(`v1.${Buffer.alloc(28).toString("base64url")}`, "aad"))).toBe(
          "authentication-failed"
        )
      })
    ))

  it.effect("error messages carry no plaintext or key material", () =>
    withCipher(
      Effect.gen(function* () {
        const cipher = yield* Cipher
        const ciphertext = yield* cipher.encrypt(Redacted.make("top-secret-value"), "aad")
        const exit = yield* decryptExit(ciphertext, "other")
        const text = JSON.stringify(exit)
        expect(text).not.toContain("top-secret-value")
        expect(text).not.toContain(Buffer.from(Redacted.value(key)).toString("base64"))
      })
    ))

  it.effect("a key that is not 32 bytes is refused", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Effect.provide(Cipher, Cipher.layer(Redacted.make(new Uint8Array(16)))))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(failureReason(exit as Exit.Exit<unknown, CipherError>)).toBe("invalid-key")
    }))
})

/** A value in the format written before key ids (`v1.` + base64url(iv | ct | tag)). */
const legacyEncrypt = (k: Redacted.Redacted<Uint8Array>, plaintext: string, aad: string): string => {
  const iv = randomBytes(12)
  const c = createCipheriv("aes-256-gcm", Buffer.from(Redacted.value(k)), iv, { authTagLength: 16 })
  c.setAAD(Buffer.from(aad, "utf8"))
  const body = Buffer.concat([c.update(plaintext, "utf8"), c.final()])
  return `v1.${Buffer.concat([iv, body, c.getAuthTag()]).toString("base64url")}`
}

const ring = (current: Redacted.Redacted<Uint8Array>, previous: ReadonlyArray<Redacted.Redacted<Uint8Array>> = []) =>
  Cipher.make(current, previous)

const kidOf = (ciphertext: string) => ciphertext.split(".")[1]

describe("Cipher key ring", () => {
  it.effect("encrypts with the current key; decrypts what previous keys encrypted", () =>
    Effect.gen(function* () {
      const [a, b, c] = [randomKey(), randomKey(), randomKey()]
      const underA = yield* (yield* ring(a)).encrypt(Redacted.make("from a"), "aad")
      const underB = yield* (yield* ring(b)).encrypt(Redacted.make("from b"), "aad")
      const rotated = yield* ring(c, [a, b])
      expect(Redacted.value(yield* rotated.decrypt(underA, "aad"))).toBe("from a")
      expect(Redacted.value(yield* rotated.decrypt(underB, "aad"))).toBe("from b")
      const fresh = yield* rotated.encrypt(Redacted.make("new"), "aad")
      expect(kidOf(fresh)).toBe(keyId(c))
      expect(rotated.isCurrent(fresh)).toBe(true)
      expect(rotated.isCurrent(underA)).toBe(false)
      // Only c decrypts the new value: a cipher holding a and b alone does not.
      expect(failureReason(yield* Effect.exit((yield* ring(a, [b])).decrypt(fresh, "aad")))).toBe(
        "authentication-failed"
      )
    }))

  it.effect("the key id routes decryption to one key, and the id is the SHA-256 prefix of the key", () =>
    Effect.gen(function* () {
      const [a, b] = [randomKey(), randomKey()]
      expect(keyId(a)).toBe(createHash("sha256").update(Redacted.value(a)).digest().subarray(0, 8).toString("base64url"))
      expect(keyId(a)).toHaveLength(11)
      const underA = yield* (yield* ring(a)).encrypt(Redacted.make("x"), "aad")
      expect(kidOf(underA)).toBe(keyId(a))
      // The same body under b's key id is tried with b only, and fails.
      const relabelled = underA.replace(`v2.${keyId(a)}.`, `v2.${keyId(b)}.`)
      expect(failureReason(yield* Effect.exit((yield* ring(b, [a])).decrypt(relabelled, "aad")))).toBe(
        "authentication-failed"
      )
      // A key id no configured key has fails, whatever the body.
      const unknown = yield* Effect.exit((yield* ring(b)).decrypt(underA, "aad"))
      expect(failureReason(unknown)).toBe("authentication-failed")
      expect(JSON.stringify(unknown)).toContain("neither the current nor a previous key")
    }))

  it.effect("v1 values (no key id) still decrypt, with the current or any previous key", () =>
    Effect.gen(function* () {
      const [a, b, c] = [randomKey(), randomKey(), randomKey()]
      const cipher = yield* ring(c, [a, b])
      for (const k of [a, b, c]) {
        const legacy = legacyEncrypt(k, "legacy secret", "grant:app_password:alice")
        expect(cipher.isCurrent(legacy)).toBe(false)
        expect(Redacted.value(yield* cipher.decrypt(legacy, "grant:app_password:alice"))).toBe("legacy secret")
        expect(failureReason(yield* Effect.exit(cipher.decrypt(legacy, "grant:app_password:bob")))).toBe(
          "authentication-failed"
        )
      }
      const stranger = legacyEncrypt(randomKey(), "x", "aad")
      expect(failureReason(yield* Effect.exit(cipher.decrypt(stranger, "aad")))).toBe("authentication-failed")
    }))

  it.effect("a previous key of the wrong length is refused, naming its position", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Cipher.make(randomKey(), [randomKey(), Redacted.make(new Uint8Array(31))]))
      expect(failureReason(exit as Exit.Exit<unknown, CipherError>)).toBe("invalid-key")
      expect(JSON.stringify(exit)).toContain("Previous encryption key 2")
    }))

  it.effect.prop(
    "a value survives any sequence of rotations while the keys it needs stay configured",
    [arbPlaintext, arbAad, FastCheck.integer({ min: 1, max: 5 }), FastCheck.boolean()],
    ([plaintext, aad, rotations, legacy]) =>
      Effect.gen(function* () {
        const keys = Array.from({ length: rotations + 1 }, () => randomKey())
        const first = keys[0]!
        let ciphertext = legacy ? legacyEncrypt(first, plaintext, aad) : yield* (yield* ring(first)).encrypt(Redacted.make(plaintext), aad)
        for (let i = 1; i < keys.length; i++) {
          // Rotate: the new key is current, the one before it is previous; re-encrypt, then drop the old key.
          const rotating = yield* ring(keys[i]!, [keys[i - 1]!])
          ciphertext = yield* rotating.encrypt(yield* rotating.decrypt(ciphertext, aad), aad)
          const after = yield* ring(keys[i]!)
          expect(after.isCurrent(ciphertext)).toBe(true)
          expect(Redacted.value(yield* after.decrypt(ciphertext, aad))).toBe(plaintext)
        }
        // Without rotating in between, every earlier key as previous still reads the first value.
        const original = legacy ? legacyEncrypt(first, plaintext, aad) : yield* (yield* ring(first)).encrypt(Redacted.make(plaintext), aad)
        const wide = yield* ring(keys[keys.length - 1]!, keys.slice(0, -1).reverse())
        expect(Redacted.value(yield* wide.decrypt(original, aad))).toBe(plaintext)
      }),
    { fastCheck: { numRuns: 30 } }
  )
})
