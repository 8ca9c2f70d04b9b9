/**
 * Grant changes between processes: the in-process default, and PostgreSQL
 * LISTEN/NOTIFY between two scope caches on separate pools (standing in for
 * two replicas), including a dropped listening connection. Real clock: the
 * caches' 5-minute TTL never expires here, so only notifications and resets
 * can refresh them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Redacted, Ref, Scope } from "effect"
import { type GrantChangeHandlers, GrantChanges, inProcess } from "../../src/storage/GrantChanges.js"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { UserId } from "../../src/domain/Ids.js"
import * as PgGrantChanges from "../../src/storage/PgGrantChanges.js"
import { eventuallyEffect } from "../support/eventually.js"
import { fakeStorage } from "../support/fakes.js"
import { adminSql, freshSchemaName, pgAvailableFor, pgUrl } from "../support/postgres.js"

const alice = UserId.make("alice")

/** A storage without grants that counts lookups. */
const countingStorage = Effect.map(Ref.make(0), (lookups) => ({
  lookups: Ref.get(lookups),
  layer: fakeStorage({ getGrant: () => Effect.as(Ref.update(lookups, (n) => n + 1), Option.none()) })
}))

/** Poll `check` for up to `ms`. */
const eventually = <E>(check: Effect.Effect<boolean, E>) => eventuallyEffect(check)

describe("GrantChanges (in-process default)", () => {
  it.effect("is the default, publishes nothing and never calls back", () =>
    Effect.gen(function* () {
      expect(yield* GrantChanges).toBe(inProcess)
      const { layer } = yield* countingStorage
      const cache = yield* Effect.provide(ScopeCache, ScopeCache.layer().pipe(Layer.provide(layer)))
      yield* cache.invalidate(alice)
    }).pipe(Effect.scoped)
  )
})

describe("ScopeCache with GrantChanges", () => {
  it.scoped("invalidate publishes; a change from elsewhere invalidates locally without publishing again; a reset drops everything", () =>
    Effect.gen(function* () {
      const published: Array<string> = []
      let handlers: GrantChangeHandlers | undefined
      const changes = Layer.succeed(GrantChanges, {
        publish: (userId) => Effect.sync(() => void published.push(userId)),
        subscribe: (h) => Effect.sync(() => void (handlers = h))
      })
      const storage = yield* countingStorage
      const cache = yield* Layer.build(ScopeCache.layer().pipe(Layer.provide(changes), Layer.provide(storage.layer))).pipe(
        Effect.map((ctx) => Context.get(ctx, ScopeCache))
      )
      expect(handlers).toBeDefined()
      yield* cache.get(alice)
      yield* cache.get(alice)
      expect(yield* storage.lookups).toBe(1)

      yield* cache.invalidate(alice)
      expect(published).toEqual(["alice"])
      yield* cache.get(alice)
      expect(yield* storage.lookups).toBe(2)

      yield* handlers!.onChange(alice)
      expect(published).toEqual(["alice"])
      yield* cache.get(alice)
      expect(yield* storage.lookups).toBe(3)

      yield* handlers!.onReset
      yield* cache.get(alice)
      expect(yield* storage.lookups).toBe(4)
      expect(published).toEqual(["alice"])
    })
  )
})

const pgAvailable = await pgAvailableFor("PgGrantChanges")

describe.skipIf(!pgAvailable)("PgGrantChanges", () => {
  const schema = freshSchemaName("gc")
  const channel = PgGrantChanges.channelFor(schema)

  /** A replica's scope cache on its own pool, with short heartbeats. */
  const replica = (scope: Scope.Scope) =>
    Effect.gen(function* () {
      const storage = yield* countingStorage
      const context = yield* Layer.buildWithScope(
        ScopeCache.layer().pipe(
          Layer.provide(
            PgGrantChanges.layer({
              url: Redacted.make(pgUrl),
              schema,
              heartbeatInterval: "100 millis",
              heartbeatTimeout: "400 millis",
              reconnectDelay: "50 millis"
            })
          ),
          Layer.provide(storage.layer)
        ),
        scope
      )
      const cache = Context.get(context, ScopeCache)
      return { cache, lookups: storage.lookups }
    })

  /** Fill the cache, then wait until a lookup happens again (an invalidation arrived). */
  const refreshed = (r: { cache: ScopeCache["Type"]; lookups: Effect.Effect<number> }) =>
    Effect.gen(function* () {
      const before = yield* r.lookups
      return yield* eventually(Effect.zipRight(r.cache.get(alice), Effect.map(r.lookups, (n) => n > before + 1)))
    })

  it.live("an invalidation on one replica reaches the other by notification (long before the cache TTL), and a lost connection resets the cache", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const a = yield* replica(scope)
      const b = yield* replica(scope)
      // Wait until B listens: its own heartbeat reset makes lookups start again.
      yield* b.cache.get(alice)
      expect(yield* eventually(Effect.map(b.lookups, (n) => n >= 1))).toBe(true)
      yield* Effect.sleep("600 millis")

      yield* b.cache.get(alice)
      const cached = yield* b.lookups
      yield* b.cache.get(alice)
      expect(yield* b.lookups).toBe(cached)

      yield* a.cache.invalidate(alice)
      expect(yield* eventually(Effect.zipRight(b.cache.get(alice), Effect.map(b.lookups, (n) => n > cached)))).toBe(true)

      // Kill the listening connections: the caches reset and listen again.
      const killed = yield* Effect.promise(() =>
        adminSql((sql) =>
          sql<{ pid: number }>`SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity WHERE query = ${`LISTEN "${channel}"`}`
        )
      )
      expect(killed.length).toBe(2)
      expect(yield* refreshed(b)).toBe(true)
      yield* Effect.sleep("600 millis")
      // And notifications flow again.
      yield* b.cache.get(alice)
      const settled = yield* b.lookups
      yield* a.cache.invalidate(alice)
      expect(yield* eventually(Effect.zipRight(b.cache.get(alice), Effect.map(b.lookups, (n) => n > settled)))).toBe(true)
      yield* Scope.close(scope, Exit.void)
    })
  , 20_000)
})
