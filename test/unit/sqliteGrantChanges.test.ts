/**
 * Grant changes between processes sharing one SQLite file: each layer below
 * opens its own connection to the same temporary file, standing in for a
 * process. Real clock: the scope caches' 5-minute TTL never expires here, so
 * only the change log can refresh them.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { join } from "node:path"
import { Context, Effect, Layer, Option, Ref, type Scope } from "effect"
import { type GrantChangeHandlers, GrantChanges, inProcess } from "../../src/storage/GrantChanges.js"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { UserId } from "../../src/domain/Ids.js"
import { grantChangesFromSettings } from "../../src/storage/layer.js"
import { SqliteStorage } from "../../src/storage/SqliteStorage.js"
import { eventuallyEffect } from "../support/eventually.js"
import { fakeStorage } from "../support/fakes.js"
import { tempDir } from "../storage/fixtures.js"

const alice = UserId.make("alice")
const bob = UserId.make("bob")
const dir = tempDir("nc-mcp-grant-changes-")
let files = 0
const freshFile = () => join(dir, `shared-${files++}.db`)

/** Poll `check` for up to `ms` (generous: the watchers themselves poll every 100 ms). */
const eventually = <E>(check: Effect.Effect<boolean, E>) => eventuallyEffect(check)

/** A process's grant changes on `filename`, as the application selects them. */
const changesOn = (filename: string, scope: Scope.Scope) =>
  Layer.buildWithScope(grantChangesFromSettings({ databaseUrl: Option.none(), filename }), scope).pipe(
    Effect.map((ctx) => Context.get(ctx, GrantChanges))
  )

/** Handlers that record what they were told. */
const recorder = Effect.gen(function* () {
  const changed = yield* Ref.make<ReadonlyArray<UserId>>([])
  const resets = yield* Ref.make(0)
  return {
    changed: Ref.get(changed),
    resets: Ref.get(resets),
    handlers: {
      onChange: (userId: UserId) => Ref.update(changed, (all) => [...all, userId]),
      onReset: Ref.update(resets, (n) => n + 1)
    }
  }
})

/** Another connection to the file, for writes that are not grant changes and for tampering. */
const rawSql = (filename: string, scope: Scope.Scope) =>
  Layer.buildWithScope(SqliteStorage.layerClient({ filename }), scope).pipe(
    Effect.map((ctx) => Context.get(ctx, SqlClient.SqlClient))
  )

describe("grant changes on a shared SQLite file", () => {
  it.scopedLive("a change published by one process reaches the other's subscription; other writes announce nothing", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const filename = freshFile()
      const a = yield* changesOn(filename, scope)
      const b = yield* changesOn(filename, scope)
      expect(a).not.toBe(inProcess)
      const seen = yield* recorder
      yield* b.subscribe(seen.handlers)
      // Live: the subscription resets once when it starts.
      expect(yield* eventually(Effect.map(seen.resets, (n) => n === 1))).toBe(true)

      yield* a.publish(alice)
      expect(yield* eventually(Effect.map(seen.changed, (users) => users.includes(alice)))).toBe(true)

      // Unrelated writes by a third connection announce nothing.
      const sql = yield* rawSql(filename, scope)
      yield* sql`INSERT INTO flow_starts (user_id, at) VALUES ('carol', 1)`
      yield* a.publish(bob)
      expect(yield* eventually(Effect.map(seen.changed, (users) => users.includes(bob)))).toBe(true)
      expect(yield* seen.changed).toEqual([alice, bob])
      expect(yield* seen.resets).toBe(1)
    }))

  it.scopedLive("a subscription that fell behind (its unread changes were pruned) resets instead of missing them", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const filename = freshFile()
      const a = yield* changesOn(filename, scope)
      const b = yield* changesOn(filename, scope)
      const sql = yield* rawSql(filename, scope)
      const seen = yield* recorder
      yield* b.subscribe(seen.handlers)
      expect(yield* eventually(Effect.map(seen.resets, (n) => n === 1))).toBe(true)

      // Publish and prune in one transaction, so no poll can read the row in between.
      yield* Effect.gen(function* () {
        yield* sql`INSERT INTO grant_changes (user_id, at) VALUES ('alice', 1)`
        yield* sql`DELETE FROM grant_changes`
      }).pipe(sql.withTransaction)
      expect(yield* eventually(Effect.map(seen.resets, (n) => n === 2))).toBe(true)
      expect(yield* seen.changed).toEqual([])

      // And it keeps following changes afterwards.
      yield* a.publish(bob)
      expect(yield* eventually(Effect.map(seen.changed, (users) => users.includes(bob)))).toBe(true)
    }))

  it.scopedLive("publish prunes the log: rows older than the retention go", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const filename = freshFile()
      const a = yield* changesOn(filename, scope)
      const sql = yield* rawSql(filename, scope)
      yield* sql`INSERT INTO grant_changes (user_id, at) VALUES ('old', 0)`
      yield* a.publish(alice)
      const rows = yield* sql<{ user_id: string }>`SELECT user_id FROM grant_changes`
      expect(rows.map((r) => r.user_id)).toEqual(["alice"])
    }))

  it.scopedLive("two scope caches on one file: an invalidation in one refreshes the other (the TTL is 5 minutes)", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const filename = freshFile()
      const cacheOn = Effect.gen(function* () {
        const lookups = yield* Ref.make(0)
        const live = yield* Ref.make(false)
        const storage = fakeStorage({ getGrant: () => Effect.as(Ref.update(lookups, (n) => n + 1), Option.none()) })
        // The application's grant changes, noting when the cache's subscription went live (its first reset).
        const changes = Layer.effect(
          GrantChanges,
          Effect.map(GrantChanges, (inner) => ({
            ...inner,
            subscribe: (handlers: GrantChangeHandlers) =>
              inner.subscribe({ ...handlers, onReset: Effect.zipRight(handlers.onReset, Ref.set(live, true)) })
          }))
        ).pipe(Layer.provide(grantChangesFromSettings({ databaseUrl: Option.none(), filename })))
        const ctx = yield* Layer.buildWithScope(
          ScopeCache.layer().pipe(Layer.provide(changes), Layer.provide(storage)),
          scope
        )
        return { cache: Context.get(ctx, ScopeCache), lookups: Ref.get(lookups), live: Ref.get(live) }
      })
      const a = yield* cacheOn
      const b = yield* cacheOn
      // Once B's subscription is live (its start resets the cache), fill the cache.
      expect(yield* eventually(b.live)).toBe(true)
      yield* b.cache.get(alice)
      const cached = yield* b.lookups
      yield* b.cache.get(alice)
      expect(yield* b.lookups).toBe(cached)

      yield* a.cache.invalidate(alice)
      expect(
        yield* eventually(Effect.zipRight(b.cache.get(alice), Effect.map(b.lookups, (n) => n > cached)))
      ).toBe(true)
    }))

  it.effect("an in-memory database has no other process to tell", () =>
    Effect.gen(function* () {
      const changes = yield* Effect.scoped(
        Effect.flatMap(Effect.scope, (scope) =>
          Layer.buildWithScope(grantChangesFromSettings({ databaseUrl: Option.none(), filename: ":memory:" }), scope)
        )
      )
      expect(Context.get(changes, GrantChanges)).toBe(inProcess)
    }))
})
