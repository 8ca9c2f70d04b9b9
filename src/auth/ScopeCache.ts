/**
 * Per-user grant lookups with a TTL on `Clock`, so a scope check on a hot path
 * does not touch storage. Every change of a user's grant must `invalidate`.
 */
import { Cache, Context, Duration, Effect, Exit, Layer, type Option } from "effect"
import type { UserId } from "../domain/Ids.js"
import { type Grant, Storage, type StorageError } from "../storage/Storage.js"

export interface ScopeCacheShape {
  readonly get: (userId: UserId) => Effect.Effect<Option.Option<Grant>, StorageError>
  readonly invalidate: (userId: UserId) => Effect.Effect<void>
  readonly invalidateAll: Effect.Effect<void>
}

export class ScopeCache extends Context.Tag("nextcloud-mcp/ScopeCache")<ScopeCache, ScopeCacheShape>() {
  static readonly DEFAULT_TTL = Duration.minutes(5)

  static readonly make = (options: { readonly ttl?: Duration.DurationInput; readonly capacity?: number } = {}) =>
    Effect.gen(function* () {
      const storage = yield* Storage
      const ttl = Duration.decode(options.ttl ?? ScopeCache.DEFAULT_TTL)
      const cache = yield* Cache.makeWith({
        capacity: options.capacity ?? 100_000,
        lookup: (userId: UserId) => storage.getGrant(userId),
        // A storage failure must not be remembered for the whole TTL.
        timeToLive: (exit) => (Exit.isSuccess(exit) ? ttl : Duration.zero)
      })
      return ScopeCache.of({
        // A zero TTL still serves the failure until the clock moves (expiry is `now > expiresAt`), so drop it.
        get: (userId) => cache.get(userId).pipe(Effect.tapError(() => cache.invalidate(userId))),
        invalidate: (userId) => cache.invalidate(userId),
        invalidateAll: cache.invalidateAll
      })
    })

  static readonly layer = (options?: { readonly ttl?: Duration.DurationInput; readonly capacity?: number }) =>
    Layer.effect(ScopeCache, ScopeCache.make(options))
}
