/**
 * PostgreSQL storage: the shared contract suite plus what only matters with
 * several processes on one database (two pools stand in for two replicas).
 *
 * Runs against NC_MCP_TEST_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test). Every store lives in its own
 * schema named after this run, all dropped at the end. Without a reachable
 * server the suite is skipped with a warning, except under CI=true, where
 * that is a failure.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { randomBytes } from "node:crypto"
import { inspect } from "node:util"
import { Cause, Effect, Exit, Layer, Option, Redacted } from "effect"
import { Cipher } from "../../src/storage/Cipher.js"
import { layerFromSettings } from "../../src/storage/layer.js"
import { PgStorage } from "../../src/storage/PgStorage.js"
import { SqliteStorage } from "../../src/storage/SqliteStorage.js"
import { Storage, StorageError } from "../../src/storage/Storage.js"
import { flow, grant, plainFlow, plainGrant, randomKey, TWENTY_MINUTES, uid } from "./fixtures.js"
import { storageSuite } from "./storageSuite.js"

const url = process.env["NC_MCP_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
const shownUrl = url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@")
const required = process.env["CI"] === "true"

const admin = PgClient.layer({ url: Redacted.make(url), connectTimeout: "3 seconds", maxConnections: 2 })

const probe = await Effect.runPromiseExit(
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`).pipe(Effect.provide(admin))
)
const available = Exit.isSuccess(probe)

const runPrefix = `ncmcp_test_${process.pid}_${randomBytes(4).toString("hex")}`
let schemas = 0
const freshSchema = () => `${runPrefix}_${schemas++}`

const key = randomKey()
const cipher = Cipher.layer(key)
const options = (schema: string) => ({ url: Redacted.make(url), schema })

/** Storage plus the raw SqlClient, on its own pool. */
const replica = (schema: string, k = key) =>
  Layer.effect(Storage, PgStorage.make).pipe(
    Layer.provideMerge(PgStorage.layerClient(options(schema))),
    Layer.provide(Cipher.layer(k))
  )

/** Everything an error carries, causes included, as a logger might print it. */
const deep = (error: unknown): string => `${inspect(error, { depth: 20 })}\n${JSON.stringify(error)}`

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  return Option.getOrThrow(Cause.failureOption(exit.cause))
}

if (!available && required) {
  describe("PgStorage", () => {
    it("PostgreSQL must be reachable under CI=true", () => {
      expect.fail(
        `PostgreSQL is not reachable at ${shownUrl} (set NC_MCP_TEST_DATABASE_URL or start the server): ${Cause.pretty(
          Exit.isFailure(probe) ? probe.cause : Cause.empty
        )}`
      )
    })
  })
} else if (!available) {
  console.warn(`PgStorage tests skipped: PostgreSQL not reachable at ${shownUrl} (set NC_MCP_TEST_DATABASE_URL to run them)`)
}

describe.skipIf(!available)(
  available ? "PgStorage" : `PgStorage (skipped: PostgreSQL not reachable at ${shownUrl})`,
  () => {
    afterAll(async () => {
      await Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ nspname: string }>`SELECT nspname FROM pg_namespace WHERE nspname LIKE ${`${runPrefix}%`}`
          yield* Effect.forEach(rows, (r) => sql`DROP SCHEMA ${sql(r.nspname)} CASCADE`, { discard: true })
        }).pipe(Effect.provide(admin))
      )
    })

    storageSuite("postgres", () => PgStorage.layer(options(freshSchema())).pipe(Layer.provide(cipher)), {
      nulInText: false,
      reopenable: () => {
        const schema = freshSchema()
        return (c) => PgStorage.layer(options(schema)).pipe(Layer.provide(c))
      }
    })

    describe("PgStorage migrations", () => {
      it.live("two replicas migrating one fresh schema at once both start, and it is migrated once", () =>
        Effect.gen(function* () {
          const schema = freshSchema()
          const [a, b] = yield* Effect.all([Layer.build(replica(schema)), Layer.build(replica(schema))], {
            concurrency: 2
          })
          const storageA = yield* Effect.provide(Storage, a)
          const storageB = yield* Effect.provide(Storage, b)
          const g = grant("alice")
          yield* storageA.putGrant(g)
          expect(Option.map(yield* storageB.getGrant(g.userId), plainGrant)).toEqual(Option.some(plainGrant(g)))
          const migrations = yield* Effect.provide(
            Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id`),
            b
          )
          expect(migrations).toEqual([
            { migration_id: 1, name: "initial" },
            { migration_id: 2, name: "flow_leases" },
            { migration_id: 3, name: "grant_changes" },
            { migration_id: 4, name: "audit_repeats" }
          ])
        }).pipe(Effect.scoped)
      )

      it.live("reopening keeps the data and does not re-run migrations", () =>
        Effect.gen(function* () {
          const schema = freshSchema()
          const g = grant("alice", { scopes: null })
          yield* Effect.flatMap(Storage, (s) => s.putGrant(g)).pipe(Effect.provide(replica(schema)))
          const again = yield* Effect.gen(function* () {
            const storage = yield* Storage
            const sql = yield* SqlClient.SqlClient
            return {
              grant: Option.map(yield* storage.getGrant(g.userId), plainGrant),
              migrations: yield* sql`SELECT migration_id FROM effect_sql_migrations`
            }
          }).pipe(Effect.provide(replica(schema)))
          expect(again.grant).toEqual(Option.some(plainGrant(g)))
          expect(again.migrations).toHaveLength(4)
        })
      )

      const typed = freshSchema()
      it.live("tables and indexes are created with PostgreSQL types", () =>
        Effect.gen(function* () {
          const schema = typed
          const sql = yield* SqlClient.SqlClient
          const columns = yield* sql<{ table_name: string; column_name: string; data_type: string }>`
            SELECT table_name, column_name, data_type FROM information_schema.columns
            WHERE table_schema = ${schema} AND table_name IN ('grants', 'login_flows', 'audit_log')`
          const type = (t: string, c: string) => columns.find((r) => r.table_name === t && r.column_name === c)?.data_type
          expect(type("grants", "created_at")).toBe("bigint")
          expect(type("grants", "scopes")).toBe("jsonb")
          expect(type("login_flows", "lease_until")).toBe("bigint")
          expect(type("login_flows", "lease_owner")).toBe("text")
          expect(type("audit_log", "detail")).toBe("jsonb")
          const indexes = yield* sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE schemaname = ${schema}`
          expect(indexes.map((r) => r.indexname)).toEqual(
            expect.arrayContaining(["login_flows_expires_at", "flow_starts_user_at", "audit_log_user_at", "login_flows_claim"])
          )
        }).pipe(Effect.provide(replica(typed)))
      )
    })

    describe("PgStorage with two replicas", () => {
      it.live("concurrent putGrant/completeFlow for one user: every replaced grant is reported exactly once", () =>
        Effect.gen(function* () {
          const schema = freshSchema()
          const a = yield* Layer.build(replica(schema))
          const b = yield* Layer.build(replica(schema))
          const storages = [yield* Effect.provide(Storage, a), yield* Effect.provide(Storage, b)] as const
          const user = "alice"
          const initial = grant(user, { createdAt: 0 })
          yield* storages[0].putGrant(initial)
          yield* storages[0].putFlow(flow(user))
          const writes = Array.from({ length: 24 }, (_, i) => grant(user, { createdAt: i + 1, updatedAt: i + 1 }))
          const replaced = yield* Effect.forEach(
            writes,
            (g, i) => {
              const storage = storages[i % 2]!
              return i % 3 === 0 ? storage.completeFlow(g) : storage.putGrant(g)
            },
            { concurrency: "unbounded" }
          )
          const final = Option.getOrThrow(yield* storages[1].getGrant(uid(user)))
          const reported = replaced.flatMap(Option.toArray).map((g) => g.createdAt)
          const everything = [initial, ...writes].map((g) => g.createdAt)
          // Each write replaced exactly one earlier grant, so all but the final one are reported once.
          expect([...reported].sort((x, y) => x - y)).toEqual(everything.filter((t) => t !== final.createdAt))
          const winner = [initial, ...writes].find((g) => g.createdAt === final.createdAt)!
          expect(plainGrant(final)).toEqual(plainGrant(winner))
          expect(Option.isNone(yield* storages[0].getFlow(uid(user)))).toBe(true)
        }).pipe(Effect.scoped)
      )

      it.live("concurrent claims from two replicas never lease the same flow", () =>
        Effect.gen(function* () {
          const schema = freshSchema()
          const a = yield* Layer.build(replica(schema))
          const b = yield* Layer.build(replica(schema))
          const one = yield* Effect.provide(Storage, a)
          const two = yield* Effect.provide(Storage, b)
          const now = 1_000_000
          const flows = Array.from({ length: 40 }, (_, i) =>
            flow(`user-${String(i).padStart(2, "0")}`, { createdAt: i, expiresAt: now + TWENTY_MINUTES })
          )
          yield* Effect.forEach(flows, one.putFlow, { concurrency: 8, discard: true })
          const claims = yield* Effect.all(
            Array.from({ length: 10 }, (_, i) =>
              (i % 2 === 0 ? one : two).claimFlows(i % 2 === 0 ? "replica-a" : "replica-b", now, 60_000, 7)
            ),
            { concurrency: "unbounded" }
          )
          const byA = claims.filter((_, i) => i % 2 === 0).flat().map((f) => f.userId)
          const byB = claims.filter((_, i) => i % 2 === 1).flat().map((f) => f.userId)
          expect(byA.filter((u) => byB.includes(u))).toEqual([])
          // The holder may renew its own leases; together the replicas hold every flow at most once.
          expect(new Set([...byA, ...byB]).size).toBe(new Set(byA).size + new Set(byB).size)
          const leased = yield* Effect.provide(
            Effect.flatMap(
              SqlClient.SqlClient,
              (sql) => sql<{ lease_owner: string; n: number }>`
                SELECT lease_owner, count(*)::integer AS n FROM login_flows GROUP BY lease_owner ORDER BY lease_owner`
            ),
            a
          )
          const held = Object.fromEntries(leased.map((r) => [r.lease_owner ?? "none", r.n]))
          expect(held["replica-a"] ?? 0).toBe(new Set(byA).size)
          expect(held["replica-b"] ?? 0).toBe(new Set(byB).size)
        }).pipe(Effect.scoped)
      )
    })

    describe("PgStorage secrets", () => {
      it.live("secrets are stored only as ciphertexts", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const storage = yield* Storage
          const g = grant("alice")
          const f = flow("bob")
          yield* storage.putGrant(g)
          yield* storage.putFlow(f)
          yield* storage.completeFlow(grant("bob"))
          yield* storage.putFlow(flow("carol"))
          const grants = yield* sql<{ app_password_enc: string }>`SELECT * FROM grants`
          const flows = yield* sql<{ poll_token_enc: string; login_url_enc: string }>`SELECT * FROM login_flows`
          const everything = JSON.stringify([grants, flows])
          for (const secret of [g.appPassword, f.pollToken, f.loginUrl].map(Redacted.value)) {
            expect(everything).not.toContain(secret)
          }
          for (const row of grants) expect(row.app_password_enc).toMatch(/^v2\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]+$/)
          for (const row of flows) {
            expect(row.poll_token_enc).toMatch(/^v2\./)
            expect(row.login_url_enc).toMatch(/^v2\./)
          }
        }).pipe(Effect.provide(replica(freshSchema())))
      )

      it.live("a ciphertext written on SQLite decrypts on PostgreSQL (same cipher and AADs)", () =>
        Effect.gen(function* () {
          const g = grant("alice")
          const f = flow("alice", { requestedScopes: ["notes.read"] })
          const fromSqlite = yield* Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* (yield* Storage).putGrant(g)
            yield* (yield* Storage).putFlow(f)
            return {
              grant: (yield* sql<{ app_password_enc: string }>`SELECT app_password_enc FROM grants`)[0]!,
              flow: (yield* sql<{ poll_token_enc: string; login_url_enc: string }>`SELECT * FROM login_flows`)[0]!
            }
          }).pipe(
            Effect.provide(
              Layer.effect(Storage, SqliteStorage.make).pipe(
                Layer.provideMerge(SqliteStorage.layerClient({ filename: ":memory:" })),
                Layer.provide(cipher)
              )
            )
          )
          yield* Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const storage = yield* Storage
            yield* storage.putGrant(grant("alice"))
            yield* storage.putFlow(flow("alice"))
            yield* sql`UPDATE grants SET app_password_enc = ${fromSqlite.grant.app_password_enc}`
            yield* sql`UPDATE login_flows SET poll_token_enc = ${fromSqlite.flow.poll_token_enc},
              login_url_enc = ${fromSqlite.flow.login_url_enc}`
            const stored = Option.getOrThrow(yield* storage.getGrant(g.userId))
            expect(Redacted.value(stored.appPassword)).toBe(Redacted.value(g.appPassword))
            const pending = Option.getOrThrow(yield* storage.getFlow(f.userId))
            expect(Redacted.value(pending.pollToken)).toBe(Redacted.value(f.pollToken))
            expect(Redacted.value(pending.loginUrl)).toBe(Redacted.value(f.loginUrl))
          }).pipe(Effect.provide(replica(freshSchema())))
        })
      )

      it.live("with another key: reads find nothing, listing and claiming skip, replace still works", () =>
        Effect.gen(function* () {
          const schema = freshSchema()
          yield* Effect.gen(function* () {
            const storage = yield* Storage
            yield* storage.putGrant(grant("alice"))
            yield* storage.putFlow(flow("alice", { createdAt: 1_000 }))
          }).pipe(Effect.provide(replica(schema)))
          yield* Effect.gen(function* () {
            const storage = yield* Storage
            yield* storage.putFlow(flow("carol", { createdAt: 2_000 }))
            expect(Option.isNone(yield* storage.getGrant(uid("alice")))).toBe(true)
            expect((yield* storage.listActiveFlows(0, 10)).map((x) => x.userId)).toEqual(["carol"])
            expect((yield* storage.claimFlows("r", 0, 1_000, 10)).map((x) => x.userId)).toEqual(["carol"])
            const fresh = grant("alice", { createdAt: 5_000 })
            expect(Option.isNone(yield* storage.putGrant(fresh))).toBe(true)
            expect(Option.map(yield* storage.getGrant(uid("alice")), plainGrant)).toEqual(Option.some(plainGrant(fresh)))
          }).pipe(Effect.provide(replica(schema, randomKey())))
        })
      )
    })

    describe("layerFromSettings with a database URL", () => {
      it.live("selects PostgreSQL, in the given schema", () =>
        Effect.gen(function* () {
          const schema = freshSchema()
          const g = grant("alice")
          yield* Effect.flatMap(Storage, (s) => s.putGrant(g)).pipe(
            Effect.provide(
              layerFromSettings({
                databaseUrl: Option.some(Redacted.make(url)),
                filename: ":memory:",
                keyText: Redacted.make(Buffer.from(Redacted.value(key)).toString("base64")),
                databaseSchema: schema
              })
            )
          )
          const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT user_id FROM grants`).pipe(
            Effect.provide(replica(schema))
          )
          expect(rows).toEqual([{ user_id: "alice" }])
        })
      )
    })

    describe("PgStorage errors", () => {
      it.live("an unreachable server fails with StorageError(connect), without the URL's password", () =>
        Effect.gen(function* () {
          const password = `pw-${randomBytes(6).toString("hex")}`
          const layer = PgStorage.layer({ url: Redacted.make(`postgres://someone:${password}@127.0.0.1:1/test`) })
          const error = failure(yield* Effect.exit(Effect.provide(Storage, layer.pipe(Layer.provide(cipher)))))
          expect(error).toBeInstanceOf(StorageError)
          expect(error).toMatchObject({ _tag: "StorageError", operation: "connect" })
          expect(deep(error)).not.toContain(password)
        })
      )

      it.live("a malformed URL or schema name fails without quoting the URL", () =>
        Effect.gen(function* () {
          const password = `pw-${randomBytes(6).toString("hex")}`
          const open = (opts: { readonly url: Redacted.Redacted<string>; readonly schema?: string }) =>
            Effect.exit(Effect.provide(Storage, PgStorage.layer(opts).pipe(Layer.provide(cipher))))
          for (const exit of [
            yield* open({ url: Redacted.make(`postgres://u:${password}@[bad/test`) }),
            yield* open({ url: Redacted.make(`mysql://u:${password}@127.0.0.1/test`) }),
            yield* open({ url: Redacted.make(`postgres://u:${password}@127.0.0.1/test`), schema: "Bad; DROP" })
          ]) {
            const error = failure(exit)
            expect(error).toMatchObject({ _tag: "StorageError", operation: "connect" })
            expect(deep(error)).not.toContain(password)
          }
        })
      )

      it.live("a NUL character in a text column fails with a StorageError, not a defect", () =>
        Effect.gen(function* () {
          const storage = yield* Storage
          const error = failure(yield* Effect.exit(storage.putGrant(grant("nul\u0000user"))))
          expect(error).toMatchObject({ _tag: "StorageError", operation: "putGrant", cause: { _tag: "SqlError" } })
        }).pipe(Effect.provide(replica(freshSchema())))
      )
    })
  }
)
