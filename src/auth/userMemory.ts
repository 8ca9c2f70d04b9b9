/**
 * What a process remembers per user, for a while: the grant (ScopeCache) and
 * that no login is stored (provisioning/StoredFlows.ts). Both are read on
 * every tool call and answered from here; both must never keep a value that
 * a concurrent change made stale.
 *
 * - An entry is trusted until its deadline (`ttlMillis` after the lookup).
 * - Every drop (`forget`, `forgetAll`) moves a generation counter. A lookup
 *   notes the generation before it reads storage and hands it back to
 *   `remember`, which keeps the value only if nothing was dropped meanwhile:
 *   a grant narrowed (or a flow stored) while the lookup was reading is not
 *   overwritten by what the lookup read before it.
 * - At most `capacity` users; the entry remembered longest ago goes first.
 *
 * Effect's `Cache` does the TTL and the bound, but stores a lookup's result
 * even when the key was invalidated while the lookup ran, and keeps LRU
 * statistics on every hit (the largest part of a grant read's cost on the
 * path every tool call takes, bench/ANALYSIS.md).
 */
import type { UserId } from "../domain/Ids.js"

export interface UserMemory<A> {
  /** The value remembered for the user, if its deadline is after `now`. */
  readonly get: (userId: UserId, now: number) => { readonly value: A } | undefined
  /** The generation to note before a lookup. */
  readonly generation: () => number
  /** Keep what a lookup started at `generation` read at `now`, unless something was dropped since. */
  readonly remember: (userId: UserId, value: A, now: number, generation: number) => void
  readonly forget: (userId: UserId) => void
  readonly forgetAll: () => void
}

export const makeUserMemory = <A>(options: { readonly ttlMillis: number; readonly capacity: number }): UserMemory<A> => {
  const entries = new Map<UserId, { readonly value: A; readonly until: number }>()
  let generation = 0
  return {
    get: (userId, now) => {
      const entry = entries.get(userId)
      return entry !== undefined && now < entry.until ? entry : undefined
    },
    generation: () => generation,
    remember: (userId, value, now, seen) => {
      if (seen !== generation) return
      entries.delete(userId)
      entries.set(userId, { value, until: now + options.ttlMillis })
      if (entries.size > options.capacity) entries.delete(entries.keys().next().value as UserId)
    },
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
