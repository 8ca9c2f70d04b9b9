/**
 * One mutex per user, so that polling (tool and background poller),
 * completing and changing a user's grant never interleave. Users do not block
 * each other. A user's lock exists while someone holds or waits for it.
 */
import { Context, Effect, Exit, Layer, RcMap, Scope } from "effect"
import type { UserId } from "../domain/Ids.js"

export interface UserLocksShape {
  /** Run `effect` holding the user's lock (not re-entrant: never nest two for one user). */
  readonly withLock: <A, E, R>(userId: UserId, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Users whose lock is held or awaited (for tests and diagnostics). */
  readonly active: Effect.Effect<ReadonlyArray<UserId>>
}

export const makeUserLocks = Effect.gen(function* () {
  const locks = yield* RcMap.make({ lookup: (_: UserId) => Effect.makeSemaphore(1) })
  return UserLocks.of({
    withLock: (userId, effect) =>
      // A scope of its own, so the caller's Scope (if any) stays the caller's.
      Effect.acquireUseRelease(
        Scope.make(),
        (scope) =>
          RcMap.get(locks, userId).pipe(
            Scope.extend(scope),
            Effect.flatMap((semaphore) => semaphore.withPermits(1)(effect))
          ),
        (scope, exit) => Scope.close(scope, Exit.asVoid(exit))
      ),
    active: RcMap.keys(locks)
  })
})

export class UserLocks extends Context.Tag("nextcloud-mcp/UserLocks")<UserLocks, UserLocksShape>() {
  static readonly layer = Layer.scoped(UserLocks, makeUserLocks)
}
