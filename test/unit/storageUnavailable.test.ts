/**
 * A storage failure is answered as a generic InternalError and logged with
 * what went wrong: the failure's message and its causes' messages (never the
 * stored values).
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { join } from "node:path"
import { Effect, Layer, Logger } from "effect"
import { logfmtLogger } from "../../src/log/logfmt.js"
import { Cipher } from "../../src/storage/Cipher.js"
import { storageUnavailable } from "../../src/storage/errors.js"
import { SqliteStorage } from "../../src/storage/SqliteStorage.js"
import { Storage, StorageError } from "../../src/storage/Storage.js"
import { grant, randomKey, tempDir, uid } from "../storage/fixtures.js"

const captureLogs = <A, E>(effect: Effect.Effect<A, E>) => {
  const lines: Array<string> = []
  const logger = Logger.map(logfmtLogger, (line) => void lines.push(line))
  return effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Effect.map((a) => ({ a, lines })))
}

const dir = tempDir()

describe("storageUnavailable", () => {
  it.effect("logs the SQLite error's message and its cause's message, not [object Object]", () =>
    Effect.gen(function* () {
      const g = grant("alice")
      const error = yield* Effect.gen(function* () {
        const storage = yield* Storage
        const sql = yield* SqlClient.SqlClient
        yield* storage.putGrant(g)
        yield* sql`DROP TABLE grants`
        return yield* Effect.flip(storage.getGrant(uid("alice")))
      }).pipe(
        Effect.provide(
          Layer.effect(Storage, SqliteStorage.make).pipe(
            Layer.provideMerge(SqliteStorage.layerClient({ filename: join(dir, "broken.db") })),
            Layer.provide(Cipher.layer(randomKey()))
          )
        )
      )
      const { a: answer, lines } = yield* captureLogs(
        Effect.fail(error).pipe(Effect.catchTag("StorageError", storageUnavailable), Effect.flip)
      )
      expect(answer._tag).toBe("InternalError")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain("operation=getGrant")
      expect(lines[0]).toMatch(/cause="Failed to prepare statement: no such table: grants \(SQLITE_ERROR\)"/)
      expect(lines[0]).not.toContain("[object Object]")
    }))

  it.effect("logs a reduced driver error (PostgreSQL) with its code, and plain messages as they are", () =>
    Effect.gen(function* () {
      const pgShaped = new StorageError({
        operation: "updateScopes",
        cause: {
          _tag: "SqlError",
          message: "Failed to execute statement",
          cause: { name: "error", code: "57P01", severity: "FATAL", message: "terminating connection due to administrator command" }
        }
      })
      const { lines } = yield* captureLogs(Effect.flip(storageUnavailable(pgShaped)))
      expect(lines[0]).toMatch(
        /cause="Failed to execute statement: terminating connection due to administrator command \(57P01\)"/
      )
      const plain = new StorageError({ operation: "getGrant", cause: { message: "no answer from the database within 5 seconds" } })
      expect((yield* captureLogs(Effect.flip(storageUnavailable(plain)))).lines[0]).toContain(
        'cause="no answer from the database within 5 seconds"'
      )
      const bare = new StorageError({ operation: "open", cause: undefined })
      expect((yield* captureLogs(Effect.flip(storageUnavailable(bare)))).lines[0]).toContain("cause=unknown")
    }))
})
