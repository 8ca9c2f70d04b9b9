/**
 * Signals that a user's flow stopped being pending (completed, expired,
 * abandoned, revoked), so whoever waits for it (`nc_auth_check_status` with
 * `wait_seconds`) wakes at once instead of polling. A login completed in
 * another process sharing the database arrives as a grant change through
 * the scope cache, which drops its entry first, so a woken waiter reads the
 * new grant.
 */
import { Clock, Context, Duration, Effect, Layer, Option, PubSub, Queue, Schedule } from "effect"
import { type AnnouncedChange, ScopeCache } from "../auth/ScopeCache.js"
import type { UserId } from "../domain/Ids.js"
import { Storage, type StorageError } from "../storage/Storage.js"

export interface SettledFlowsShape {
  /** The user's flow is no longer pending: wake their waiters. */
  readonly settle: (userId: UserId) => Effect.Effect<void>
  /**
   * Wait up to `wait` (and never past the flow's deadline) for the user's
   * pending flow to settle, reporting progress every second. True when it is
   * no longer pending (a signal that leaves it pending is not enough); false
   * when the wait ran out first. Interrupting the caller ends the wait at once.
   */
  readonly awaitSettled: (
    userId: UserId,
    wait: Duration.Duration,
    onTick: (elapsed: Duration.Duration) => Effect.Effect<void>
  ) => Effect.Effect<boolean, StorageError>
}

export const makeSettledFlows = Effect.gen(function* () {
  const storage = yield* Storage
  const cache = yield* ScopeCache
  // A reset (announcements may have been missed) wakes every waiter to look again.
  const settled = yield* PubSub.unbounded<AnnouncedChange>()
  const settle = (userId: UserId) => PubSub.publish(settled, { _tag: "User", userId }).pipe(Effect.asVoid)

  const announced = yield* cache.changes
  yield* Queue.take(announced).pipe(
    Effect.flatMap((change) => PubSub.publish(settled, change)),
    Effect.forever,
    Effect.forkScoped
  )

  const awaitSettled = Effect.fn("SettledFlows.awaitSettled")(function* (
    userId: UserId,
    wait: Duration.Duration,
    onTick: (elapsed: Duration.Duration) => Effect.Effect<void>
  ) {
    const subscription = yield* PubSub.subscribe(settled)
    // It may have settled between the caller's last look and the subscription.
    const flow = yield* storage.getFlow(userId)
    if (Option.isNone(flow)) return true
    const start = yield* Clock.currentTimeMillis
    const untilDeadline = flow.value.expiresAt - start
    if (untilDeadline <= 0) return true
    // A signal only says "look again": it may come from a change that left this
    // flow pending (this process's own grant change echoed back, a narrowing).
    const stillPending = Effect.zipWith(
      storage.getFlow(userId),
      Clock.currentTimeMillis,
      (now, at) => Option.isSome(now) && now.value.createdAt === flow.value.createdAt && at < now.value.expiresAt
    )
    const mine = Queue.take(subscription).pipe(
      Effect.repeat({ until: (change) => change._tag === "Reset" || change.userId === userId }),
      Effect.zipRight(stillPending),
      Effect.repeat({ while: (pending) => pending }),
      Effect.asVoid
    )
    const ticker = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* onTick(Duration.millis(now - start))
    }).pipe(Effect.repeat(Schedule.spaced("1 second")), Effect.asVoid)
    const waitMillis = Math.min(Duration.toMillis(wait), untilDeadline)
    return yield* Effect.raceFirst(mine.pipe(Effect.as(true)), Effect.zipRight(ticker, Effect.never).pipe(Effect.as(false))).pipe(
      Effect.timeoutTo({
        duration: Duration.millis(waitMillis),
        // Reaching the deadline ends the flow: say so rather than "still pending".
        onTimeout: () => waitMillis === untilDeadline,
        onSuccess: (done) => done
      })
    )
  }, Effect.scoped)

  return SettledFlows.of({ settle, awaitSettled })
})

export class SettledFlows extends Context.Tag("nextcloud-mcp/SettledFlows")<SettledFlows, SettledFlowsShape>() {
  static readonly layer = Layer.scoped(SettledFlows, makeSettledFlows)
}
