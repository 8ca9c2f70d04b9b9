/**
 * Per-user grant lookups with a TTL on `Clock`, so a scope check on a hot path
 * does not touch storage. Every change of a user's grant must `invalidate`;
 * a lookup that raced an invalidation does not keep what it read
 * (./userMemory.ts).
 *
 * `invalidate` also publishes the change through `GrantChanges`, and
 * {@link ScopeCache.layer} subscribes to the changes of other processes
 * (invalidating locally, without re-publishing), so replicas sharing a
 * database drop a changed grant within a notification's latency; the TTL is
 * the backstop when a notification is missed. That one subscription also
 * serves whoever else must hear of those changes (`changes`), so a process
 * follows its database once. The same channel announces that a user's login
 * was stored (see provisioning/StoredFlows.ts): every announcement drops the
 * user's entry here, which is harmless when only their login changed.
 */
import { Context, Duration, Effect, Layer, type Option, PubSub, type Queue, type Scope } from "effect"
import type { UserId } from "../domain/Ids.js"
import { type Grant, Storage, type StorageError } from "../storage/Storage.js"
import { GrantChanges } from "../storage/GrantChanges.js"
import { makeUserMemory } from "./userMemory.js"

/** What {@link ScopeCacheShape.changes} delivers. */
export type AnnouncedChange =
  /** The grant (or the stored login) of `userId` changed, in this process or another. */
  | { readonly _tag: "User"; readonly userId: UserId }
  /** Announcements may have been missed (the channel was down and is back): anything derived from them is stale. */
  | { readonly _tag: "Reset" }

const RESET: AnnouncedChange = { _tag: "Reset" }

export interface ScopeCacheShape {
  readonly get: (userId: UserId) => Effect.Effect<Option.Option<Grant>, StorageError>
  readonly invalidate: (userId: UserId) => Effect.Effect<void>
  /** Drop the local entry only, without announcing a change (for changes announced elsewhere). */
  readonly forget: (userId: UserId) => Effect.Effect<void>
  readonly invalidateAll: Effect.Effect<void>
  /**
   * The changes announced through `GrantChanges` (by any process), each
   * after the entries it concerns were dropped here; for the life of the
   * scope. Only {@link ScopeCache.layer} follows the announcements.
   */
  readonly changes: Effect.Effect<Queue.Dequeue<AnnouncedChange>, never, Scope.Scope>
}

type Options = { readonly ttl?: Duration.DurationInput; readonly capacity?: number }

const build = (options: Options) =>
  Effect.gen(function* () {
    const storage = yield* Storage
    const changes = yield* GrantChanges
    const memory = makeUserMemory<Option.Option<Grant>>({
      ttlMillis: Duration.toMillis(options.ttl ?? ScopeCache.DEFAULT_TTL),
      capacity: options.capacity ?? 100_000
    })
    const announced = yield* PubSub.unbounded<AnnouncedChange>()
    const service = ScopeCache.of({
      // A failed lookup is not remembered: the next one tries again.
      get: (userId) => memory.through(userId, () => storage.getGrant(userId)),
      invalidate: (userId) => Effect.zipRight(Effect.sync(() => memory.forget(userId)), changes.publish(userId)),
      forget: (userId) => Effect.sync(() => memory.forget(userId)),
      invalidateAll: Effect.sync(() => memory.forgetAll()),
      changes: PubSub.subscribe(announced)
    })
    return { service, changes, announced } as const
  })

export class ScopeCache extends Context.Tag("nextcloud-mcp/ScopeCache")<ScopeCache, ScopeCacheShape>() {
  static readonly DEFAULT_TTL = Duration.minutes(5)

  /** The cache alone: publishes its invalidations but does not follow other processes' (see {@link ScopeCache.layer}). */
  static readonly make = (options: Options = {}) => Effect.map(build(options), ({ service }) => service)

  /** The cache, following the grant changes of other processes for the life of the layer. */
  static readonly layer = (options?: Options) =>
    Layer.scoped(
      ScopeCache,
      Effect.gen(function* () {
        const { service, changes, announced } = yield* build(options ?? {})
        yield* changes.subscribe({
          onChange: (userId) => Effect.zipRight(service.forget(userId), PubSub.publish(announced, { _tag: "User", userId })),
          onReset: Effect.zipRight(service.invalidateAll, PubSub.publish(announced, RESET))
        })
        return service
      })
    )
}
