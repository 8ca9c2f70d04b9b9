import { describe, expect, it } from "@effect/vitest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { randomBytes } from "node:crypto"
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Cause, Effect, Exit, FastCheck, Layer, Option, Redacted } from "effect"
import { EncryptionKeyError, loadOrCreateKeyFile, parseKey, parsePreviousKeys } from "../../src/storage/EncryptionKey.js"
import { keyFilePath, layerFromKeyText } from "../../src/storage/layer.js"
import { Storage } from "../../src/storage/Storage.js"
import { grant, plainGrant, tempDir } from "./fixtures.js"

const platform = Layer.merge(NodeFileSystem.layer, NodePath.layer)

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  return Option.getOrThrow(Cause.failureOption(exit.cause))
}

const arbKeyBytes = FastCheck.uint8Array({ minLength: 32, maxLength: 32 })

describe("parseKey", () => {
  it.effect.prop("accepts base64, unpadded base64 and base64url of 32 bytes", [arbKeyBytes], ([bytes]) =>
    Effect.gen(function* () {
      const buf = Buffer.from(bytes)
      for (const text of [
        buf.toString("base64"),
        buf.toString("base64").replace(/=+$/, ""),
        buf.toString("base64url"),
        `  ${buf.toString("base64")}\n`
      ]) {
        const key = yield* parseKey(text)
        expect(Buffer.from(Redacted.value(key)).equals(buf)).toBe(true)
      }
    }))

  it.effect("rejects other lengths, naming the variable and not the value", () =>
    Effect.gen(function* () {
      for (const n of [0, 1, 16, 31, 33, 64]) {
        const text = randomBytes(n).toString("base64")
        const error = failure(yield* Effect.exit(parseKey(Redacted.make(text))))
        expect(error).toBeInstanceOf(EncryptionKeyError)
        expect(error.message).toContain("NC_MCP_ENCRYPTION_KEY")
        if (text.length > 0) expect(error.message).not.toContain(text)
      }
      const wrong = failure(yield* Effect.exit(parseKey(randomBytes(16).toString("base64"))))
      expect(wrong.message).toContain("32 bytes, got 16")
    }))

  it.effect("rejects text that is not base64", () =>
    Effect.gen(function* () {
      for (const text of ["not a key", "abc$def", "====", `${randomBytes(32).toString("hex")}`]) {
        const error = failure(yield* Effect.exit(parseKey(text)))
        expect(error.message).toContain("NC_MCP_ENCRYPTION_KEY")
        expect(error.message).not.toContain(text)
      }
    }))
})

describe("loadOrCreateKeyFile", () => {
  it.effect("creates the key file (and its folder) with mode 0600, then reuses it", () =>
    Effect.gen(function* () {
      const dir = join(tempDir(), "a", "b")
      const path = join(dir, "store.db.key")
      const created = yield* loadOrCreateKeyFile(path)
      expect(Redacted.value(created)).toHaveLength(32)
      expect(statSync(path).mode & 0o777).toBe(0o600)
      expect(statSync(dir).mode & 0o777).toBe(0o700)
      expect(Buffer.from(readFileSync(path, "utf8").trim(), "base64").equals(Buffer.from(Redacted.value(created)))).toBe(
        true
      )
      expect(readdirSync(dir)).toEqual(["store.db.key"])
      const again = yield* loadOrCreateKeyFile(path)
      expect(Buffer.from(Redacted.value(again)).equals(Buffer.from(Redacted.value(created)))).toBe(true)
    }).pipe(Effect.provide(platform)))

  it.effect("concurrent first loads agree on one key", () =>
    Effect.gen(function* () {
      const path = join(tempDir(), "race.key")
      const keys = yield* Effect.all(Array.from({ length: 8 }, () => loadOrCreateKeyFile(path)), {
        concurrency: "unbounded"
      })
      const distinct = new Set(keys.map((k) => Buffer.from(Redacted.value(k)).toString("hex")))
      expect(distinct.size).toBe(1)
    }).pipe(Effect.provide(platform)))

  it.effect.skipIf(process.platform === "win32")("refuses a key file group or others can access", () =>
    Effect.gen(function* () {
      const path = join(tempDir(), "open.key")
      writeFileSync(path, `${randomBytes(32).toString("base64")}\n`)
      chmodSync(path, 0o644)
      const error = failure(yield* Effect.exit(loadOrCreateKeyFile(path)))
      expect(error.message).toContain(path)
      expect(error.message).toContain("0644")
      expect(error.message).toContain("chmod 600")
      chmodSync(path, 0o600)
      expect(Redacted.value(yield* loadOrCreateKeyFile(path))).toHaveLength(32)
    }).pipe(Effect.provide(platform)))

  it.effect("a key file that does not hold a key is an error naming the file", () =>
    Effect.gen(function* () {
      const path = join(tempDir(), "bad.key")
      writeFileSync(path, "short\n", { mode: 0o600 })
      const error = failure(yield* Effect.exit(loadOrCreateKeyFile(path)))
      expect(error.message).toContain(`Key file ${path}`)
      expect(error.message).not.toContain("short")
    }).pipe(Effect.provide(platform)))
})

describe("layerFromKeyText", () => {
  it.effect("without a key, a file database gets <db>.key and keeps reading its data", () =>
    Effect.gen(function* () {
      const filename = join(tempDir(), "data", "store.db")
      const g = grant("alice")
      const storage = layerFromKeyText({ filename, keyText: undefined })
      yield* Effect.flatMap(Storage, (s) => s.putGrant(g)).pipe(Effect.provide(storage))
      expect(statSync(keyFilePath(filename)).mode & 0o777).toBe(0o600)
      const stored = yield* Effect.flatMap(Storage, (s) => s.getGrant(g.userId)).pipe(Effect.provide(storage))
      expect(Option.map(stored, plainGrant)).toEqual(Option.some(plainGrant(g)))
    }))

  it.effect("with key text, uses it; a bad key text fails before opening anything", () =>
    Effect.gen(function* () {
      const filename = join(tempDir(), "store.db")
      const keyText = Redacted.make(randomBytes(32).toString("base64url"))
      const g = grant("bob")
      yield* Effect.flatMap(Storage, (s) => s.putGrant(g)).pipe(Effect.provide(layerFromKeyText({ filename, keyText })))
      const stored = yield* Effect.flatMap(Storage, (s) => s.getGrant(g.userId)).pipe(
        Effect.provide(layerFromKeyText({ filename, keyText }))
      )
      expect(Option.map(stored, plainGrant)).toEqual(Option.some(plainGrant(g)))

      const bad = yield* Effect.exit(
        Effect.provide(Storage, layerFromKeyText({ filename: join(tempDir(), "x.db"), keyText: Redacted.make("nope") }))
      )
      expect(failure(bad)).toMatchObject({ _tag: "EncryptionKeyError" })
    }))

  it.effect(":memory: without a key works with a throwaway key", () =>
    Effect.flatMap(Storage, (s) => s.putGrant(grant("carol"))).pipe(
      Effect.provide(layerFromKeyText({ filename: ":memory:", keyText: undefined }))
    ))
})

describe("parsePreviousKeys", () => {
  const text = () => randomBytes(32).toString("base64")

  it.effect("unset or blank is no keys; entries are trimmed; blank entries are ignored", () =>
    Effect.gen(function* () {
      expect(yield* parsePreviousKeys(undefined)).toEqual([])
      expect(yield* parsePreviousKeys(Redacted.make(" "))).toEqual([])
      const [a, b] = [text(), text()]
      const keys = yield* parsePreviousKeys(Redacted.make(` ${a} ,, ${Buffer.from(b, "base64").toString("base64url")},`))
      expect(keys.map((k) => Buffer.from(Redacted.value(k)).toString("base64"))).toEqual([a, b])
    }))

  it.effect("a malformed entry names the variable and its position, never a key", () =>
    Effect.gen(function* () {
      const good = text()
      const short = randomBytes(16).toString("base64")
      const bad = failure(yield* Effect.exit(parsePreviousKeys(Redacted.make(`${good},${short}`))))
      expect(bad).toBeInstanceOf(EncryptionKeyError)
      expect(bad.message).toContain("NC_MCP_PREVIOUS_ENCRYPTION_KEYS entry 2 must decode to exactly 32 bytes")
      expect(bad.message).not.toContain(good)
      expect(bad.message).not.toContain(short)
      const single = failure(yield* Effect.exit(parsePreviousKeys("not base64!")))
      expect(single.message).toMatch(/^NC_MCP_PREVIOUS_ENCRYPTION_KEYS is not valid base64/)
    }))

  it.effect("layerFromKeyText with a previous key reads what the old key stored, and writes with the new one", () =>
    Effect.gen(function* () {
      const filename = join(tempDir(), "rotate.db")
      const [oldKey, newKey] = [text(), text()]
      const g = grant("alice")
      yield* Effect.flatMap(Storage, (s) => s.putGrant(g)).pipe(
        Effect.provide(layerFromKeyText({ filename, keyText: Redacted.make(oldKey) }))
      )
      const rotating = layerFromKeyText({
        filename,
        keyText: Redacted.make(newKey),
        previousKeysText: Redacted.make(oldKey)
      })
      const read = yield* Effect.flatMap(Storage, (s) => s.getGrant(g.userId)).pipe(Effect.provide(rotating))
      expect(Option.map(read, plainGrant)).toEqual(Option.some(plainGrant(g)))
      const report = yield* Effect.flatMap(Storage, (s) => s.reencryptAll()).pipe(Effect.provide(rotating))
      expect(report.reencrypted).toBe(1)
      const after = yield* Effect.flatMap(Storage, (s) => s.getGrant(g.userId)).pipe(
        Effect.provide(layerFromKeyText({ filename, keyText: Redacted.make(newKey) }))
      )
      expect(Option.map(after, plainGrant)).toEqual(Option.some(plainGrant(g)))
    }))
})
