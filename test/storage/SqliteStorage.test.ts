import { describe, expect, it, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { inspect } from "node:util"
import { Cause, Effect, Exit, Layer, Option, Redacted } from "effect"
import { Cipher } from "../../src/storage/Cipher.js"
import { SqliteStorage } from "../../src/storage/SqliteStorage.js"
import { Storage, StorageError } from "../../src/storage/Storage.js"
import { arbFlow, arbGrant, flow, grant, plainGrant, randomKey, tempDir, uid } from "./fixtures.js"
import { storageSuite } from "./storageSuite.js"

const key = randomKey()
const cipher = Cipher.layer(key)
const dir = tempDir()
let n = 0
const freshFile = () => join(dir, `db-${n++}`, "nested", "store.db")

storageSuite("sqlite file", () => SqliteStorage.layer({ filename: freshFile() }).pipe(Layer.provide(cipher)), {
  reopenable: () => {
    const filename = freshFile()
    return (c) => SqliteStorage.layer({ filename }).pipe(Layer.provide(c))
  }
})
storageSuite("sqlite :memory:", () => SqliteStorage.layerMemory.pipe(Layer.provide(cipher)))

/** Storage plus the raw SqlClient, to inspect and tamper with rows. */
const withSql = (filename: string, k = key, busyTimeoutMs?: number) =>
  Layer.effect(Storage, SqliteStorage.make).pipe(
    Layer.provideMerge(
      SqliteStorage.layerClient(busyTimeoutMs === undefined ? { filename } : { filename, busyTimeoutMs })
    ),
    Layer.provide(Cipher.layer(k))
  )

/** Everything an error carries, causes included, as a logger might print it. */
const deep = (error: unknown): string => `${inspect(error, { depth: 20 })}\n${JSON.stringify(error)}`

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  return Option.getOrThrow(Cause.failureOption(exit.cause))
}

describe("SqliteStorage on a file", () => {
  it.effect("creates the folder (0700) and the file (0600); WAL, busy_timeout and foreign_keys are set", () =>
    Effect.gen(function* () {
      const filename = freshFile()
      const pragmas = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* (yield* Storage).putGrant(grant("alice"))
        return {
          journal: yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`,
          busy: yield* sql<{ timeout: number }>`PRAGMA busy_timeout`,
          fk: yield* sql<{ foreign_keys: number }>`PRAGMA foreign_keys`,
          walMode: statSync(`${filename}-wal`).mode & 0o777
        }
      }).pipe(Effect.provide(withSql(filename, key, 1234)))
      expect(pragmas.journal).toEqual([{ journal_mode: "wal" }])
      expect(pragmas.busy).toEqual([{ timeout: 1234 }])
      expect(pragmas.fk).toEqual([{ foreign_keys: 1 }])
      expect(pragmas.walMode).toBe(0o600)
      expect(statSync(filename).mode & 0o777).toBe(0o600)
      expect(statSync(join(filename, "..")).mode & 0o777).toBe(0o700)
    }))

  it.effect("reopening keeps the data and does not re-run migrations", () =>
    Effect.gen(function* () {
      const filename = freshFile()
      const g = grant("alice", { scopes: null })
      const migrations = Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql`SELECT migration_id, name, created_at FROM effect_sql_migrations ORDER BY migration_id`
      )
      const first = yield* Effect.gen(function* () {
        yield* (yield* Storage).putGrant(g)
        yield* (yield* Storage).putFlow(flow("alice"))
        return yield* migrations
      }).pipe(Effect.provide(withSql(filename)))
      expect(first).toHaveLength(4)
      expect(first[0]).toMatchObject({ migration_id: 1, name: "initial" })
      expect(first[1]).toMatchObject({ migration_id: 2, name: "flow_leases" })
      expect(first[2]).toMatchObject({ migration_id: 3, name: "grant_changes" })
      expect(first[3]).toMatchObject({ migration_id: 4, name: "audit_repeats" })

      const second = yield* Effect.gen(function* () {
        const storage = yield* Storage
        expect(Option.map(yield* storage.getGrant(g.userId), plainGrant)).toEqual(Option.some(plainGrant(g)))
        expect(Option.isSome(yield* storage.getFlow(g.userId))).toBe(true)
        return yield* migrations
      }).pipe(Effect.provide(withSql(filename)))
      expect(second).toEqual(first)
    }))

  it.effect("a path that cannot be opened fails with StorageError(open)", () =>
    Effect.gen(function* () {
      const blocker = join(tempDir(), "not-a-folder")
      writeFileSync(blocker, "x")
      const exit = yield* Effect.exit(
        Effect.provide(Storage, SqliteStorage.layer({ filename: join(blocker, "store.db") }).pipe(Layer.provide(cipher)))
      )
      const error = failure(exit)
      expect(error).toBeInstanceOf(StorageError)
      expect(error).toMatchObject({ _tag: "StorageError", operation: "open" })
    }))
})

describe("SqliteStorage transactions", () => {
  it.effect("completeFlow rolls back the grant when removing the flow fails", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const old = grant("alice", { scopes: ["notes.read"] })
      const pending = flow("alice")
      yield* storage.putGrant(old)
      yield* storage.putFlow(pending)
      yield* sql`CREATE TRIGGER fail_flow_delete BEFORE DELETE ON login_flows BEGIN SELECT RAISE(ABORT, 'refused'); END`
      const replacement = grant("alice", { scopes: null, createdAt: 9_000 })
      const error = failure(yield* Effect.exit(storage.completeFlow(replacement)))
      expect(error).toMatchObject({ _tag: "StorageError", operation: "completeFlow" })
      expect(deep(error)).not.toContain(Redacted.value(replacement.appPassword))
      expect(Option.map(yield* storage.getGrant(old.userId), plainGrant)).toEqual(Option.some(plainGrant(old)))
      expect(Option.isSome(yield* storage.getFlow(old.userId))).toBe(true)
    }).pipe(Effect.provide(withSql(":memory:"))))

  it.effect("putGrant keeps the old grant when storing the new one fails", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const old = grant("alice")
      yield* storage.putGrant(old)
      yield* sql`CREATE TRIGGER fail_grant_insert BEFORE INSERT ON grants BEGIN SELECT RAISE(ABORT, 'refused'); END`
      const error = failure(yield* Effect.exit(storage.putGrant(grant("alice", { createdAt: 9_000 }))))
      expect(error).toMatchObject({ _tag: "StorageError", operation: "putGrant" })
      expect(Option.map(yield* storage.getGrant(old.userId), plainGrant)).toEqual(Option.some(plainGrant(old)))
    }).pipe(Effect.provide(withSql(":memory:"))))
})

describe("SqliteStorage encryption at rest", () => {
  it.effect("secrets are stored as versioned ciphertexts", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const g = grant("alice")
      const f = flow("alice")
      yield* storage.putGrant(g)
      yield* storage.putFlow(f)
      const [row] = yield* sql<{ app_password_enc: string }>`SELECT app_password_enc FROM grants`
      const [frow] = yield* sql<{ poll_token_enc: string; login_url_enc: string }>`SELECT * FROM login_flows`
      expect(row?.app_password_enc).toMatch(/^v2\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]+$/)
      expect(row?.app_password_enc).not.toContain(Redacted.value(g.appPassword))
      expect(frow?.poll_token_enc).toMatch(/^v2\./)
      expect(frow?.login_url_enc).toMatch(/^v2\./)
    }).pipe(Effect.provide(withSql(":memory:"))))

  it.effect("a ciphertext copied to another user's row or another field does not decrypt", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      const alice = grant("alice")
      yield* storage.putGrant(alice)
      yield* storage.putGrant(grant("mallory"))
      yield* sql`UPDATE grants SET app_password_enc = (SELECT app_password_enc FROM grants WHERE user_id = 'alice')
        WHERE user_id = 'mallory'`
      expect(Option.isNone(yield* storage.getGrant(uid("mallory")))).toBe(true)
      expect(Option.isSome(yield* storage.getGrant(uid("alice")))).toBe(true)

      yield* storage.putFlow(flow("bob"))
      yield* sql`UPDATE login_flows SET login_url_enc = poll_token_enc WHERE user_id = 'bob'`
      expect(Option.isNone(yield* storage.getFlow(uid("bob")))).toBe(true)
    }).pipe(Effect.provide(withSql(":memory:"))))

  it.effect("with another key: reads find nothing, active-flow listing skips, delete and replace still work", () =>
    Effect.gen(function* () {
      const filename = freshFile()
      yield* Effect.gen(function* () {
        const storage = yield* Storage
        yield* storage.putGrant(grant("alice"))
        yield* storage.putGrant(grant("bob"))
        yield* storage.putFlow(flow("alice", { createdAt: 1_000 }))
      }).pipe(Effect.provide(withSql(filename)))

      yield* Effect.gen(function* () {
        const storage = yield* Storage
        const good = flow("carol", { createdAt: 2_000 })
        yield* storage.putFlow(good)
        expect(Option.isNone(yield* storage.getGrant(uid("alice")))).toBe(true)
        expect(Option.isNone(yield* storage.getFlow(uid("alice")))).toBe(true)
        expect((yield* storage.listActiveFlows(0, 10)).map((f) => f.userId)).toEqual(["carol"])
        expect(Option.isNone(yield* storage.deleteGrant(uid("alice")))).toBe(true)
        expect(Option.isNone(yield* storage.getGrant(uid("alice")))).toBe(true)
        const fresh = grant("bob", { createdAt: 5_000 })
        expect(Option.isNone(yield* storage.putGrant(fresh))).toBe(true)
        expect(Option.map(yield* storage.getGrant(uid("bob")), plainGrant)).toEqual(Option.some(plainGrant(fresh)))
      }).pipe(Effect.provide(withSql(filename, randomKey())))
    }))

  it.effect("rows that do not match their schema fail without quoting the stored values", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const storage = yield* Storage
      yield* storage.putGrant(grant("alice"))
      yield* sql`UPDATE grants SET scopes = '["notes.read","bogus-scope-value"]'`
      const error = failure(yield* Effect.exit(storage.getGrant(uid("alice"))))
      expect(error).toMatchObject({ operation: "getGrant", cause: { _tag: "ParseError" } })
      const text = deep(error)
      expect(text).toContain("scopes")
      expect(text).not.toContain("bogus-scope-value")
    }).pipe(Effect.provide(withSql(":memory:"))))

  const diskFile = freshFile()
  layer(withSql(diskFile))("the database files on disk", (it) => {
    const rawFiles = () =>
      [diskFile, `${diskFile}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p))
    const assertAbsent = (secrets: ReadonlyArray<string>) => {
      const files = rawFiles()
      expect(files.length).toBeGreaterThan(0)
      for (const bytes of files) {
        for (const secret of secrets) expect(bytes.indexOf(Buffer.from(secret, "utf8"))).toBe(-1)
      }
    }

    it.effect.prop(
      "never contain an app password, poll token or login URL",
      { g: arbGrant, f: arbFlow, g2: arbGrant },
      ({ f, g, g2 }) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const storage = yield* Storage
          yield* storage.putGrant(g)
          yield* storage.putFlow(f)
          yield* storage.completeFlow({ ...g2, userId: f.userId })
          const secrets = [g.appPassword, f.pollToken, f.loginUrl, g2.appPassword].map(Redacted.value)
          assertAbsent(secrets)
          yield* sql`PRAGMA wal_checkpoint(TRUNCATE)`
          assertAbsent(secrets)
        }),
      { fastCheck: { numRuns: 40 } }
    )
  })
})
