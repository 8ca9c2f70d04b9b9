/**
 * Background completion (CONTRACT §5): a person who approves in the browser is
 * provisioned even if nobody calls a tool. A scoped fiber sweeps the pending
 * flows every `pollInterval` (jittered), polls each through `Provisioning`
 * (so it shares the per-user lock with the tools), never faster than
 * `maxPollsPerSecond` overall, and backs off a flow whose polls fail
 * transiently without ever dropping it. Expired flows are removed after a
 * retention period, and old audit/rate-limit history is pruned.
 */
import { Clock, Duration, Effect, Layer, RateLimiter, Schedule } from "effect"
import type { UserId } from "../domain/Ids.js"
import { Storage } from "../storage/Storage.js"
import { Provisioning } from "./Provisioning.js"
import { ProvisioningConfig } from "./ProvisioningConfig.js"

const SWEEP_BATCH = 1_000
const MAX_BACKOFF = Duration.minutes(2)

export interface PollerStats {
  sweeps: number
  polls: number
  completed: number
  transientFailures: number
}

export const makePoller = Effect.gen(function* () {
  const provisioning = yield* Provisioning
  const storage = yield* Storage
  const config = yield* ProvisioningConfig
  const limiter = yield* RateLimiter.make({ limit: Math.max(1, config.maxPollsPerSecond), interval: "1 second" })
  /** Transient failures per user: the next poll waits 2^n intervals (capped). */
  const backoff = new Map<UserId, { failures: number; notBefore: number }>()
  const stats: PollerStats = { sweeps: 0, polls: 0, completed: 0, transientFailures: 0 }
  const interval = Duration.toMillis(config.pollInterval)

  const pollOne = (userId: UserId) =>
    limiter(provisioning.pollFlow(userId)).pipe(
      Effect.tap((outcome) =>
        Effect.sync(() => {
          stats.polls++
          backoff.delete(userId)
          if (outcome._tag === "Completed") stats.completed++
        })
      ),
      Effect.tap((outcome) =>
        outcome._tag === "Completed" ? Effect.logInfo("login flow completed in the background", { user: userId }) : Effect.void
      ),
      Effect.catchAll((error) =>
        Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) =>
            Effect.sync(() => {
              stats.polls++
              stats.transientFailures++
              const failures = (backoff.get(userId)?.failures ?? 0) + 1
              const wait = Math.min(interval * 2 ** failures, Duration.toMillis(MAX_BACKOFF))
              backoff.set(userId, { failures, notBefore: now + wait })
              return { failures, wait }
            })
          ),
          Effect.flatMap(({ failures, wait }) =>
            Effect.logDebug("poll failed; flow kept, backing off", { user: userId, error: error._tag, failures, wait_ms: wait })
          )
        )
      )
    )

  const sweep = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    stats.sweeps++
    const flows = yield* storage.listActiveFlows(now, SWEEP_BATCH)
    const due = flows.filter((flow) => (backoff.get(flow.userId)?.notBefore ?? 0) <= now)
    yield* Effect.forEach(due, (flow) => pollOne(flow.userId), { concurrency: 4, discard: true })
    for (const userId of backoff.keys()) {
      if (!flows.some((flow) => flow.userId === userId)) backoff.delete(userId)
    }
    yield* storage.deleteExpiredFlows(now - Duration.toMillis(config.expiredFlowRetention))
  }).pipe(
    Effect.catchAllCause((cause) => Effect.logWarning("poller sweep failed; retrying next interval", cause)),
    Effect.withSpan("Poller.sweep")
  )

  const prune = Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) => storage.pruneHistory(now - Duration.toMillis(config.auditRetention))),
    Effect.catchAllCause((cause) => Effect.logWarning("history pruning failed", cause))
  )

  yield* sweep.pipe(Effect.repeat(Schedule.spaced(config.pollInterval).pipe(Schedule.jittered)), Effect.forkScoped)
  yield* prune.pipe(Effect.repeat(Schedule.spaced("1 hour")), Effect.forkScoped)
  return { stats: () => ({ ...stats }), sweep } as const
})

export const PollerLive = Layer.scopedDiscard(makePoller)
