/**
 * What a process remembers per user, for a while: the grant (ScopeCache) and
 * that no login is stored (provisioning/StoredFlows.ts). Both are read on
 * every tool call and answered from here; both must never keep a value that
 * a concurrent change made stale.
 *
 * - An entry is trusted until its deadline (`ttlMillis` after the lookup).
 * - Every drop (`forget`, `forgetAll`) moves a generation counter. A lookup
 *   (`through`) notes the generation before it reads storage, and keeps what
 *   it read only if nothing was dropped meanwhile: a grant narrowed (or a
 *   flow stored) while the lookup was reading is not overwritten by what the
 *   lookup read before it.
 * - At most `capacity` users; the entry remembered longest ago goes first.
 *
 * Effect's `Cache` does the TTL and the bound, but stores a lookup's result
 * even when the key was invalidated while the lookup ran, and keeps LRU
 * statistics on every hit (the largest part of a grant read's cost on the
 * path every tool call takes, bench/ANALYSIS.md).
 */
import { Clock, Effect } from "effect"
import type { UserId } from "../domain/Ids.js"

export interface UserMemory<A> {
  /**
   * The value remembered for the user while its deadline is ahead (no
   * lookup made); else `lookup`'s, remembered (when `keep` says so) unless something was
   * dropped while the lookup ran. A failed lookup is not remembered.
   */
  readonly through: <E, R>(userId: UserId, lookup: () => Effect.Effect<A, E, R>, keep?: (value: A) => boolean) => Effect.Effect<A, E, R>
  readonly forget: (userId: UserId) => void
  readonly forgetAll: () => void
}

export const makeUserMemory = <A>(options: { readonly ttlMillis: number; readonly capacity: number }): UserMemory<A> => {
  const entries = new Map<UserId, { readonly value: A; readonly until: number }>()
  let generation = 0
  return {
    through: (userId, lookup, keep) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const entry = entries.get(userId)
        if (entry !== undefined && now < entry.until) return Effect.succeed(entry.value)
        const seen = generation
        return Effect.map(lookup(), (value) => {
          if (seen === generation && (keep === undefined || keep(value))) {
            entries.delete(userId)
            entries.set(userId, { value, until: now + options.ttlMillis })
            if (entries.size > options.capacity) entries.delete(entries.keys().next().value as UserId)
          }
          return value
        })
      }),
    forget: (userId) => {
      generation++
      entries.delete(userId)
    },
    forgetAll: () => {
      generation++
      entries.clear()
    }
  }
}
