import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Redacted } from "effect"
import { layerFromSettings } from "../../src/storage/layer.js"
import { Storage } from "../../src/storage/Storage.js"
import { grant, plainGrant } from "./fixtures.js"

const KEY_TEXT = Redacted.make(Buffer.alloc(32, 3).toString("base64"))

describe("layerFromSettings", () => {
  it.effect("without a database URL: SQLite on the file", () =>
    Effect.gen(function* () {
      const g = grant("alice")
      const stored = yield* Effect.gen(function* () {
        const storage = yield* Storage
        yield* storage.putGrant(g)
        return yield* storage.getGrant(g.userId)
      }).pipe(Effect.provide(layerFromSettings({ databaseUrl: Option.none(), filename: ":memory:", keyText: undefined })))
      expect(Option.map(stored, plainGrant)).toEqual(Option.some(plainGrant(g)))
    }))

  it.effect("with a database URL but no key: EncryptionKeyError naming the variable, nothing opened", () =>
    Effect.gen(function* () {
      const password = "url-password-123"
      const exit = yield* Effect.exit(
        Effect.provide(
          Storage,
          layerFromSettings({
            databaseUrl: Option.some(Redacted.make(`postgres://u:${password}@127.0.0.1:1/db`)),
            filename: ":memory:",
            keyText: undefined
          })
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Option.getOrThrow(Cause.failureOption(exit.cause)) : undefined
      expect(error).toMatchObject({ _tag: "EncryptionKeyError" })
      const message = (error as { readonly message: string }).message
      expect(message).toContain("NC_MCP_ENCRYPTION_KEY")
      expect(message).toContain("PostgreSQL")
      expect(message).not.toContain(password)
    }))

  it.effect("with a database URL and an invalid key: the key error, before any connection", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.provide(
          Storage,
          layerFromSettings({
            databaseUrl: Option.some(Redacted.make("postgres://u@127.0.0.1:1/db")),
            filename: ":memory:",
            keyText: Redacted.make("short")
          })
        )
      )
      const error = Exit.isFailure(exit) ? Option.getOrThrow(Cause.failureOption(exit.cause)) : undefined
      expect(error).toMatchObject({ _tag: "EncryptionKeyError" })
    }))

  it.effect("with a database URL and a key: PostgreSQL (an unreachable one fails to connect)", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.provide(
          Storage,
          layerFromSettings({
            databaseUrl: Option.some(Redacted.make("postgres://u@127.0.0.1:1/db")),
            filename: ":memory:",
            keyText: KEY_TEXT
          })
        )
      )
      const error = Exit.isFailure(exit) ? Option.getOrThrow(Cause.failureOption(exit.cause)) : undefined
      expect(error).toMatchObject({ _tag: "StorageError", operation: "connect" })
    }))
})
