/**
 * The backend-independent walk of `reencryptAll`, over an in-memory table:
 * batching by user id, compare-and-set misses counted as `changed`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Cipher } from "../../src/storage/Cipher.js"
import { reencryptAll, type ReencryptBackend, SECRET_COLUMNS, secretAad } from "../../src/storage/reencrypt.js"
import { randomKey, uid } from "./fixtures.js"

const users = Array.from({ length: 7 }, (_, i) => uid(`user-${i}`))

describe("reencryptAll (walk)", () => {
  it.effect("reads in batches after the last user id; a value changed meanwhile is counted and not overwritten", () =>
    Effect.gen(function* () {
      const [oldKey, newKey] = [randomKey(), randomKey()]
      const oldCipher = yield* Cipher.make(oldKey)
      const cipher = yield* Cipher.make(newKey, [oldKey])
      const tables = new Map<string, Map<string, string>>()
      for (const column of SECRET_COLUMNS) {
        const rows = new Map<string, string>()
        for (const u of users) rows.set(u, yield* oldCipher.encrypt(Redacted.make(`${column.field}-${u}`), secretAad(column.field, u)))
        tables.set(column.column, rows)
      }
      const reads: Array<string | null> = []
      const backend: ReencryptBackend<never> = {
        readBatch: (column, after, limit) =>
          Effect.sync(() => {
            reads.push(after)
            return [...tables.get(column.column)!.entries()]
              .filter(([u]) => after === null || u > after)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .slice(0, limit)
              .map(([u, c]) => ({ userId: uid(u), ciphertext: c }))
          }),
        writeBatch: (column, rewrites) =>
          Effect.sync(() => {
            const rows = tables.get(column.column)!
            // Another writer replaced user-3's grant between the read and this write.
            if (column.field === "grant.app_password" && rewrites.some((r) => r.userId === "user-3")) {
              rows.set("user-3", "v2.somebody.else")
            }
            let applied = 0
            for (const r of rewrites) {
              if (rows.get(r.userId) === r.from) {
                rows.set(r.userId, r.to)
                applied++
              }
            }
            return applied
          })
      }
      const report = yield* reencryptAll(cipher, backend, 3)
      expect(report).toEqual({ reencrypted: 3 * 7 - 1, current: 0, changed: 1, undecryptable: [] })
      expect(reads.slice(0, 3)).toEqual([null, "user-2", "user-5"])
      expect(tables.get("app_password_enc")!.get("user-3")).toBe("v2.somebody.else")
      for (const column of SECRET_COLUMNS) {
        for (const [u, c] of tables.get(column.column)!) {
          if (c === "v2.somebody.else") continue
          expect(cipher.isCurrent(c)).toBe(true)
          expect(Redacted.value(yield* cipher.decrypt(c, secretAad(column.field, uid(u))))).toBe(`${column.field}-${u}`)
        }
      }
    }))
})
