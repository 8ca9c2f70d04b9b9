/**
 * Background completion (docs/tool-contract.md §6): a person who approves in the browser is
 * provisioned even if nobody calls a tool. A scoped fiber sweeps the pending
 * flows every `pollInterval` (jittered), polls each through `LoginFlows`
 * (so it shares the per-user lock with the tools and completes exactly as
 * `nc_auth_check_status` would), never faster than `maxPollsPerSecond`
 * overall, and backs off a flow whose polls fail transiently without ever
 * dropping it. Flows are leased (`Storage.claimFlows`), so of several
 * processes sharing the database one polls a given flow at a time; leases
 * are released on shutdown and run out if a process dies. Flows that pass their deadline are audited once as expired;
 * they are removed after a retention period, and old audit/rate-limit
 * history is pruned.
 */
import { randomUUID } from "node:crypto"
import { Cause, Clock, Duration, Effect, Layer, RateLimiter, Schedule } from "effect"
import type { UserId } from "../domain/Ids.js"
import { Storage } from "../storage/Storage.js"
import { LoginFlows } from "./LoginFlows.js"
import { ProvisioningConfig } from "./ProvisioningConfig.js"

const SWEEP_BATCH = 1_000
/** Longest pause a failing flow gets between polls. */
export const MAX_BACKOFF = Duration.minutes(2)
const HISTORY_PRUNE_EVERY = Duration.hours(1)

export interface PollerStats {
  sweeps: number
  polls: number
  completed: number
  transientFailures: number
  expired: number
}

interface Backoff {
  /** The flow the failures belong to: a new flow of the same user starts afresh. */
  readonly createdAt: number
  readonly failures: number
  readonly notBefore: number
}

/**
 * When a flow that failed `failures` times in a row is polled next: the
 * interval doubles per failure up to {@link MAX_BACKOFF}, but a flow is always
 * tried again at least one interval before its deadline, so a completion that
 * happened during an outage is not lost to the back-off.
 */
export const nextAttempt = (now: number, failures: number, interval: number, expiresAt: number): number => {
  const wait = Math.min(interval * 2 ** failures, Duration.toMillis(MAX_BACKOFF))
  return Math.max(now + interval, Math.min(now + wait, expiresAt - interval))
}

export const makePoller = Effect.gen(function* () {
  const flows = yield* LoginFlows
  const storage = yield* Storage
  const config = yield* ProvisioningConfig
  // One token refilled every 1/N s: polls are spread evenly, never more than N in any second (no bursts).
  const limiter = yield* RateLimiter.make({
    limit: 1,
    interval: Duration.millis(Math.ceil(1000 / (config.maxPollsPerSecond > 0 ? config.maxPollsPerSecond : 1)))
  })
  const backoff = new Map<UserId, Backoff>()
  const stats: PollerStats = { sweeps: 0, polls: 0, completed: 0, transientFailures: 0, expired: 0 }
  const interval = Duration.toMillis(config.pollInterval)
  const owner = `poller-${yield* Effect.sync(randomUUID)}`
  /**
   * Renewed by every sweep, so it outlives the jittered gap between sweeps. A
   * sweep that outlasts it (many flows at a low poll rate) only risks a
   * duplicate poll by another process, which the one-shot answer makes harmless.
   */
  const leaseMs = Math.max(10_000, Math.ceil(5 * interval))
  const leased = new Set<UserId>()
  /** Flows active at the previous sweep and past their deadline now have just expired. */
  let previousSweep = (yield* Clock.currentTimeMillis) - Duration.toMillis(config.expiredFlowRetention)

  const pollOne = (userId: UserId, createdAt: number, expiresAt: number) =>
    limiter(flows.poll(userId)).pipe(
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
              const before = backoff.get(userId)
              const failures = (before !== undefined && before.createdAt === createdAt ? before.failures : 0) + 1
              const notBefore = nextAttempt(now, failures, interval, expiresAt)
              backoff.set(userId, { createdAt, failures, notBefore })
              return { failures, wait: notBefore - now }
            })
          ),
          Effect.flatMap(({ failures, wait }) =>
            Effect.logDebug("poll failed; flow kept, backing off", { user: userId, error: error._tag, failures, wait_ms: wait })
          )
        )
      ),
      // A defect in one flow must not stop the others.
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.logError("poll of a flow failed unexpectedly", cause)
      )
    )

  const noticeExpired = (now: number) =>
    Effect.gen(function* () {
      const recent = yield* storage.listActiveFlows(previousSweep, SWEEP_BATCH)
      const expired = recent.filter((flow) => flow.expiresAt <= now)
      yield* Effect.forEach(
        expired,
        (flow) =>
          flows.expire(flow).pipe(
            Effect.tap((first) => Effect.sync(() => (first ? stats.expired++ : undefined))),
            Effect.catchAllCause((cause) => Effect.logWarning("expired flow not recorded", cause))
          ),
        { discard: true }
      )
      previousSweep = now
    })

  const sweep = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    stats.sweeps++
    const flows = yield* storage.claimFlows(owner, now, leaseMs, SWEEP_BATCH)
    leased.clear()
    for (const flow of flows) leased.add(flow.userId)
    const due = flows.filter((flow) => {
      const b = backoff.get(flow.userId)
      return b === undefined || b.createdAt !== flow.createdAt || b.notBefore <= now
    })
    yield* Effect.forEach(due, (flow) => pollOne(flow.userId, flow.createdAt, flow.expiresAt), {
      concurrency: 4,
      discard: true
    })
    for (const userId of backoff.keys()) {
      if (!flows.some((flow) => flow.userId === userId)) backoff.delete(userId)
    }
    yield* noticeExpired(now)
    yield* storage.deleteExpiredFlows(now - Duration.toMillis(config.expiredFlowRetention))
  }).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.logWarning("poller sweep failed; retrying next interval", cause)
    ),
    Effect.withSpan("Poller.sweep")
  )

  const prune = Clock.currentTimeMillis.pipe(
    Effect.flatMap((now) => storage.pruneHistory(now - Duration.toMillis(config.auditRetention))),
    Effect.tap((pruned) => (pruned > 0 ? Effect.logInfo("old audit entries pruned", { count: pruned }) : Effect.void)),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.logWarning("history pruning failed", cause)
    )
  )

  // Hand the flows back on shutdown so another process (or the next start) takes over at once.
  yield* Effect.addFinalizer(() =>
    Effect.forEach(leased, (userId) => storage.releaseFlow(userId, owner), { discard: true }).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("flow leases not released; they run out by themselves", cause))
    )
  )
  yield* sweep.pipe(Effect.repeat(Schedule.spaced(config.pollInterval).pipe(Schedule.jittered)), Effect.forkScoped)
  yield* prune.pipe(Effect.repeat(Schedule.spaced(HISTORY_PRUNE_EVERY)), Effect.forkScoped)
  return { stats: (): PollerStats => ({ ...stats }), sweep } as const
})

export const PollerLive = Layer.scopedDiscard(makePoller)
