import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, FastCheck, Redacted } from "effect"
import { Cipher, CipherError } from "../../src/storage/Cipher.js"
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
        expect(ciphertext).toMatch(/^v1\.[A-Za-z0-9_-]+$/)
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
          const raw = Buffer.from(ciphertext.slice(3), "base64url")
          const i = position % raw.length
          raw[i] = raw[i]! ^ (1 << bit)
          const tampered = `v1.${raw.toString("base64url")}`
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
        const ivs = texts.map((t) => Buffer.from(t.slice(3), "base64url").subarray(0, 12).toString("hex"))
        expect(new Set(texts).size).toBe(50)
        expect(new Set(ivs).size).toBe(50)
        // iv 12 + tag 16 + ciphertext as long as the plaintext
        expect(Buffer.from(texts[0]!.slice(3), "base64url").length).toBe(12 + 16 + "same secret".length)
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
        expect(failureReason(yield* decryptExit("v2.AAAA", "aad"))).toBe("unsupported-format")
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
