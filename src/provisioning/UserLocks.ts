import { Effect } from "effect"

/**
 * One mutex per user, so that polling (tool and background poller), completing
 * and changing a user's grant never interleave. Users do not block each other.
 * A lock is dropped once nobody holds or waits for it.
 */
export const UserLocks = {
  make: Effect.sync(() => {
    const locks = new Map<string, { readonly semaphore: Effect.Semaphore; users: number }>()
    const acquire = (key: string) =>
      Effect.sync(() => {
        let entry = locks.get(key)
        if (entry === undefined) {
          entry = { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 }
          locks.set(key, entry)
        }
        entry.users++
        return entry
      })
    const release = (key: string, entry: { users: number }) =>
      Effect.sync(() => {
        entry.users--
        if (entry.users === 0) locks.delete(key)
      })
    return {
      withLock: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
        Effect.acquireUseRelease(
          acquire(key),
          (entry) => entry.semaphore.withPermits(1)(effect),
          (entry) => release(key, entry)
        )
    }
  })
}
