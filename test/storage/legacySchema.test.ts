/**
 * Databases created by the migrations of earlier releases (one set per
 * backend, ./legacyMigrations.ts) open with today's single migration set as
 * already migrated: nothing runs again, the rows written then read back,
 * and the schema is exactly what today's migrations create on a fresh
 * database. On SQLite (a file) and PostgreSQL (a schema).
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { join } from "node:path"
import { Effect, Layer, Option, Redacted } from "effect"
import { Cipher } from "../../src/storage/Cipher.js"
import { PgStorage } from "../../src/storage/PgStorage.js"
import { SqliteStorage } from "../../src/storage/SqliteStorage.js"
import { Storage } from "../../src/storage/Storage.js"
import { adminSql, freshSchemaName, pgAvailableFor, pgUrl } from "../support/postgres.js"
import { randomKey, tempDir, TWENTY_MINUTES, uid } from "./fixtures.js"
import { legacyPgLoader, legacySqliteLoader } from "./legacyMigrations.js"

const cipher = Cipher.layer(randomKey())
const dir = tempDir()

/** Rows as earlier releases wrote them, ciphertexts bound to their row and field by these AADs. */
const seed = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const c = yield* Cipher
  yield* sql`INSERT INTO grants ${sql.insert({
    user_id: "alice",
    login_name: "alice-login",
    nc_user_id: "alice-nc",
    app_password_enc: yield* c.encrypt(Redacted.make("alice-app-password"), "grant:app_password:alice"),
    scopes: JSON.stringify(["notes.read"]),
    created_at: 1_000,
    updated_at: 2_000
  })}`
  yield* sql`INSERT INTO login_flows ${sql.insert({
    user_id: "bob",
    poll_token_enc: yield* c.encrypt(Redacted.make("bob-poll-token"), "flow:poll_token:bob"),
    poll_endpoint: "https://cloud.example/index.php/login/v2/poll",
    login_url_enc: yield* c.encrypt(Redacted.make("https://cloud.example/login/v2/flow/x"), "flow:login_url:bob"),
    requested_scopes: null,
    purpose: "update",
    elicitation_id: "elicit-1",
    created_at: 3_000,
    expires_at: 3_000 + TWENTY_MINUTES,
    lease_owner: "poller-gone",
    lease_until: 3_500
  })}`
  yield* sql`INSERT INTO flow_starts ${sql.insert({ user_id: "bob", at: 3_000 })}`
  yield* sql`INSERT INTO audit_log ${sql.insert({ at: 1_000, user_id: "alice", event: "grant_stored", detail: '{"scopes":["notes.read"]}' })}`
  yield* sql`INSERT INTO audit_log ${sql.insert({
    at: 4_000,
    user_id: "alice",
    event: "access_denied",
    detail: '{"tool":"nc_notes_list"}',
    count: 3,
    last_at: 4_500,
    repeat_key: "nc_notes_list",
    repeat_window: 0
  })}`
})

/** Today's storage reads the seeded rows and keeps writing into them. */
const readsAndWritesTheSeededRows = Effect.gen(function* () {
  const storage = yield* Storage
  const alice = Option.getOrThrow(yield* storage.getGrant(uid("alice")))
  expect({ ...alice, appPassword: Redacted.value(alice.appPassword) }).toEqual({
    userId: "alice",
    loginName: "alice-login",
    ncUserId: "alice-nc",
    appPassword: "alice-app-password",
    scopes: ["notes.read"],
    createdAt: 1_000,
    updatedAt: 2_000
  })
  const bob = Option.getOrThrow(yield* storage.getFlow(uid("bob")))
  expect(Redacted.value(bob.pollToken)).toBe("bob-poll-token")
  expect(bob).toMatchObject({ purpose: "update", elicitationId: "elicit-1", requestedScopes: null, createdAt: 3_000 })
  expect(yield* storage.flowStartsSince(uid("bob"), 0)).toEqual([3_000])
  // The lease that ran out is taken over; the coalesced series keeps counting.
  expect((yield* storage.claimFlows("poller-new", 4_000, 1_000, 10)).map((f) => f.userId)).toEqual(["bob"])
  yield* storage.auditCoalesced(
    { at: 5_000, userId: uid("alice"), event: "access_denied", detail: {} },
    { key: "nc_notes_list", windowMs: 60_000 }
  )
  expect((yield* storage.auditLog(uid("alice"), 10)).map(({ count, event, lastAt }) => ({ event, count, lastAt }))).toEqual([
    { event: "access_denied", count: 4, lastAt: 5_000 },
    { event: "grant_stored", count: 1, lastAt: 1_000 }
  ])
  const replaced = yield* storage.putGrant({ ...alice, createdAt: 6_000, updatedAt: 6_000 })
  expect(Option.map(replaced, (g) => g.createdAt)).toEqual(Option.some(1_000))
})

const migrationsOf = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ migration_id: number; name: string }>`SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id`
)

const RECORDED = [
  { migration_id: 1, name: "initial" },
  { migration_id: 2, name: "flow_leases" },
  { migration_id: 3, name: "grant_changes" },
  { migration_id: 4, name: "audit_repeats" }
]

describe("a SQLite file migrated by an earlier release", () => {
  const sqliteSchema = Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name`
  )
  const opened = (filename: string) =>
    Layer.effect(Storage, SqliteStorage.make).pipe(
      Layer.provideMerge(SqliteStorage.layerClient({ filename })),
      Layer.provideMerge(cipher)
    )

  it.effect("opens as migrated, its rows readable and writable, its schema today's", () =>
    Effect.gen(function* () {
      const legacy = join(dir, "legacy.db")
      yield* Effect.zipRight(Migrator.make({})({ loader: legacySqliteLoader }), seed).pipe(
        Effect.provide(Layer.merge(SqliteClient.layer({ filename: legacy }), cipher))
      )
      const before = yield* migrationsOf.pipe(Effect.provide(SqliteClient.layer({ filename: legacy })))
      expect(before).toEqual(RECORDED)

      const after = yield* Effect.zipRight(readsAndWritesTheSeededRows, Effect.all([migrationsOf, sqliteSchema])).pipe(
        Effect.provide(opened(legacy))
      )
      const fresh = yield* sqliteSchema.pipe(Effect.provide(opened(join(dir, "fresh.db"))))
      expect(after[0]).toEqual(RECORDED)
      expect(after[1]).toEqual(fresh)
    }))
})

const pgAvailable = await pgAvailableFor("legacy PostgreSQL schema")

describe.skipIf(!pgAvailable)("a PostgreSQL schema migrated by an earlier release", () => {
  const legacy = freshSchemaName("legacy")
  const fresh = freshSchemaName("fresh")
  afterAll(() =>
    adminSql((sql) => Effect.forEach([legacy, fresh], (s) => sql`DROP SCHEMA IF EXISTS ${sql(s)} CASCADE`))
  )

  const inSchema = (schema: string) => {
    const url = new URL(pgUrl)
    url.searchParams.set("options", `-c search_path=${schema}`)
    return PgClient.layer({ url: Redacted.make(url.toString()), maxConnections: 2 })
  }
  /** Columns, indexes and constraints, with the schema's name left out. */
  const pgSchema = (schema: string) =>
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.all([
        sql`SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default,
              collation_name, is_identity, identity_generation
            FROM information_schema.columns WHERE table_schema = ${schema} AND table_name <> 'effect_sql_migrations'
            ORDER BY table_name, ordinal_position`,
        sql`SELECT indexname, replace(indexdef, ${schema}, 'S') AS def FROM pg_indexes
            WHERE schemaname = ${schema} AND tablename <> 'effect_sql_migrations' ORDER BY indexname`,
        sql`SELECT c.conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
            JOIN pg_namespace n ON n.oid = c.connamespace
            WHERE n.nspname = ${schema} AND c.conname NOT LIKE 'effect_sql_migrations%' ORDER BY c.conname`
      ])
    )
  const opened = (schema: string) =>
    Layer.effect(Storage, PgStorage.make).pipe(
      Layer.provideMerge(PgStorage.layerClient({ url: Redacted.make(pgUrl), schema })),
      Layer.provideMerge(cipher)
    )

  it.live("opens as migrated, its rows readable and writable, its schema today's", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => adminSql((sql) => sql`CREATE SCHEMA ${sql(legacy)}`))
      yield* Effect.zipRight(Migrator.make({})({ loader: legacyPgLoader }), seed).pipe(
        Effect.provide(Layer.merge(inSchema(legacy), cipher))
      )
      const before = yield* migrationsOf.pipe(Effect.provide(inSchema(legacy)))
      expect(before).toEqual(RECORDED)

      const after = yield* Effect.zipRight(readsAndWritesTheSeededRows, Effect.all([migrationsOf, pgSchema(legacy)])).pipe(
        Effect.provide(opened(legacy))
      )
      const today = yield* pgSchema(fresh).pipe(Effect.provide(opened(fresh)))
      expect(after[0]).toEqual(RECORDED)
      expect(after[1]).toEqual(today)
      expect(today[1].map((r) => r["indexname"])).toContain("login_flows_claim")
    }))
})
