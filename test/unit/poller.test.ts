/**
 * The background poller under TestClock: cadence with jitter, back-off on
 * transient failures, the overall poll rate, completion without any tool call,
 * the 20-minute deadline, cleanup and audit retention; and a property test of
 * the poll state machine.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, FastCheck, Layer, Option, type Scope, TestClock, TestContext } from "effect"
import { ElicitationCompletions, Elicitation } from "../../src/auth/Elicitation.js"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { UserId } from "../../src/domain/Ids.js"
import { makePoller, MAX_BACKOFF, nextAttempt } from "../../src/provisioning/Poller.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import type { ProvisioningConfigShape } from "../../src/provisioning/ProvisioningConfig.js"
import { Storage } from "../../src/storage/Storage.js"
import {
  ALICE,
  eventsOf,
  type FakeNextcloud,
  flowOf,
  grantOf,
  lifecycleLayer,
  makeFakeNextcloud,
  type PollStep,
  requestLayer
} from "../support/lifecycle.js"

const SECOND = 1000
const MINUTE = 60 * SECOND
const INTERVAL = 5 * SECOND

/** Start a flow for `user` (at the current TestClock time). */
const startFlow = (user: UserId = ALICE, scopes: ReadonlyArray<"notes.read"> | null = null) =>
  Effect.flatMap(Provisioning, (p) => p.provision(user, scopes)).pipe(
    Effect.provide(requestLayer())
  )

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - (times[i] as number))

type Services = Layer.Layer.Success<ReturnType<typeof lifecycleLayer>> | Scope.Scope

const run = <A, E>(fake: FakeNextcloud, body: Effect.Effect<A, E, Services>, config: Partial<ProvisioningConfigShape> = {}) =>
  body.pipe(Effect.scoped, Effect.provide(lifecycleLayer(fake, config)))

describe("poller cadence", () => {
  it.effect("polls a pending flow at once, then every interval ± jitter (0.8–1.2 ×)", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* startFlow()
        yield* makePoller
        yield* TestClock.adjust(0)
        expect(fake.pollsOf(0).map((p) => p.at)).toEqual([0])
        yield* TestClock.adjust(0.8 * INTERVAL - 1)
        expect(fake.pollsOf(0)).toHaveLength(1)
        yield* TestClock.adjust(0.4 * INTERVAL + 1)
        expect(fake.pollsOf(0)).toHaveLength(2)
        yield* TestClock.adjust(2 * MINUTE)
        const times = fake.pollsOf(0).map((p) => p.at)
        for (const gap of gaps(times)) {
          expect(gap).toBeGreaterThanOrEqual(0.8 * INTERVAL)
          expect(gap).toBeLessThanOrEqual(1.2 * INTERVAL)
        }
        expect(times.length).toBeGreaterThanOrEqual(1 + Math.floor((2 * MINUTE + 0.8 * INTERVAL) / (1.2 * INTERVAL)))
        expect(yield* flowOf()).not.toBeNull()
      })
    )
  })

  it.effect("the configured interval is used", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* startFlow()
        yield* makePoller
        yield* TestClock.adjust(MINUTE)
        const times = fake.pollsOf(0).map((p) => p.at)
        for (const gap of gaps(times)) {
          expect(gap).toBeGreaterThanOrEqual(0.8 * 20 * SECOND)
          expect(gap).toBeLessThanOrEqual(1.2 * 20 * SECOND)
        }
        expect(times.length).toBeGreaterThanOrEqual(3)
        expect(times.length).toBeLessThanOrEqual(4)
      }),
      { pollInterval: Duration.seconds(20) }
    )
  })

  it.effect("never more than maxPollsPerSecond polls overall", () => {
    const fake = makeFakeNextcloud()
    const users = Array.from({ length: 12 }, (_, i) => UserId.make(`user-${i}`))
    return run(
      fake,
      Effect.gen(function* () {
        for (const user of users) yield* startFlow(user)
        yield* makePoller
        yield* TestClock.adjust(30 * SECOND)
        const times = fake.polls.map((p) => p.at).sort((a, b) => a - b)
        expect(new Set(fake.polls.map((p) => p.token)).size).toBe(users.length)
        for (const t of times) {
          expect(times.filter((u) => u >= t && u < t + SECOND).length).toBeLessThanOrEqual(3)
        }
        // 12 first polls at 3 per second take more than 3 seconds
        expect(times[11]).toBeGreaterThanOrEqual(3 * SECOND)
      }),
      { maxPollsPerSecond: 3 }
    )
  })
})

describe("several processes", () => {
  it.effect("two pollers on one database: one polls a flow at a time; when it stops, the other takes over at once", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* startFlow()
        const first = yield* Effect.scoped(
          Effect.gen(function* () {
            const a = yield* makePoller
            const b = yield* makePoller
            yield* TestClock.adjust(MINUTE)
            return [a.stats().polls, b.stats().polls] as const
          })
        )
        // one of them holds the lease; the flow is polled at the usual cadence, not twice as often
        expect(first.filter((n) => n > 0)).toHaveLength(1)
        for (const gap of gaps(fake.pollsOf(0).map((p) => p.at))) expect(gap).toBeGreaterThanOrEqual(0.8 * INTERVAL)
        const before = fake.pollsOf(0).length
        // the lease was released on shutdown: a new poller polls at once
        const c = yield* makePoller
        yield* TestClock.adjust(0)
        expect(c.stats().polls).toBe(1)
        expect(fake.pollsOf(0)).toHaveLength(before + 1)
      })
    )
  })

  it.effect("a flow leased by a process that died is taken over when its lease runs out", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* startFlow()
        const storage = yield* Storage
        // another process claimed it and vanished without releasing
        expect(yield* storage.claimFlows("gone", 0, 30 * SECOND, 10)).toHaveLength(1)
        const poller = yield* makePoller
        yield* TestClock.adjust(30 * SECOND - 1)
        expect(poller.stats().polls).toBe(0)
        yield* TestClock.adjust(1.2 * INTERVAL)
        expect(poller.stats().polls).toBeGreaterThanOrEqual(1)
        expect(fake.pollsOf(0)[0]?.at).toBeGreaterThanOrEqual(30 * SECOND)
      })
    )
  })
})

describe("back-off", () => {
  it("doubles per failure, is capped, and always leaves a try before the deadline", () => {
    expect(nextAttempt(0, 1, INTERVAL, 20 * MINUTE)).toBe(10 * SECOND)
    expect(nextAttempt(0, 3, INTERVAL, 20 * MINUTE)).toBe(40 * SECOND)
    expect(nextAttempt(0, 10, INTERVAL, 20 * MINUTE)).toBe(Duration.toMillis(MAX_BACKOFF))
    // close to the deadline: retried one interval before it, never later
    expect(nextAttempt(18 * MINUTE, 10, INTERVAL, 20 * MINUTE)).toBe(20 * MINUTE - INTERVAL)
    expect(nextAttempt(20 * MINUTE - INTERVAL, 10, INTERVAL, 20 * MINUTE)).toBe(20 * MINUTE)
  })

  it.effect("transient failures back off exponentially and never drop the flow", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* startFlow()
        fake.script(0, "5xx", "timeout", "malformed", "5xx")
        yield* makePoller
        yield* TestClock.adjust(4 * MINUTE)
        const polls = fake.pollsOf(0)
        const times = polls.map((p) => p.at)
        expect(polls.slice(0, 5).map((p) => p.step)).toEqual(["5xx", "timeout", "malformed", "5xx", "pending"])
        const [g1, g2, g3, g4, g5] = gaps(times)
        // after the n-th failure in a row the next poll waits 2^n intervals (plus at most one sweep)
        expect(g1).toBeGreaterThanOrEqual(2 * INTERVAL)
        expect(g1).toBeLessThanOrEqual(3.2 * INTERVAL)
        expect(g2).toBeGreaterThanOrEqual(4 * INTERVAL)
        expect(g2).toBeLessThanOrEqual(5.2 * INTERVAL)
        expect(g3).toBeGreaterThanOrEqual(8 * INTERVAL)
        expect(g3).toBeLessThanOrEqual(9.2 * INTERVAL)
        expect(g4).toBeGreaterThanOrEqual(16 * INTERVAL)
        expect(g4).toBeLessThanOrEqual(17.2 * INTERVAL)
        // a success resets the back-off
        expect(g5).toBeLessThanOrEqual(1.2 * INTERVAL)
        expect(yield* flowOf()).not.toBeNull()
        expect(yield* grantOf()).toBeNull()
        expect(yield* eventsOf()).toEqual(["flow_started"])
      })
    )
  })

  it.effect("a long outage is retried at most every two minutes until the deadline; the completion then lands", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* startFlow()
        fake.script(0, ...Array.from({ length: 7 }, (): PollStep => "timeout"), { completed: "pw-after-outage" })
        yield* makePoller
        yield* TestClock.adjust(20 * MINUTE)
        const polls = fake.pollsOf(0)
        expect(polls).toHaveLength(8)
        for (const gap of gaps(polls.map((p) => p.at))) {
          expect(gap).toBeLessThanOrEqual(Duration.toMillis(MAX_BACKOFF) + 1.2 * 30 * SECOND)
        }
        expect(polls.at(-1)?.step).toEqual({ completed: "pw-after-outage" })
        expect((yield* grantOf())?.appPassword).toBeDefined()
      }),
      { pollInterval: Duration.seconds(30) }
    )
  })
})

describe("background completion", () => {
  it.effect("stores the app password, removes the flow, invalidates the cache and notifies the client", () => {
    const fake = makeFakeNextcloud()
    const notified: Array<string> = []
    const urlElicitation = Layer.succeed(Elicitation, {
      presentLoginUrl: () => Effect.succeed({ outcome: "accepted", elicitationId: "elicit-1" })
    })
    return run(
      fake,
      Effect.gen(function* () {
        const completions = yield* ElicitationCompletions
        yield* completions.register("elicit-1", Effect.sync(() => void notified.push("elicit-1")))
        const provisioning = yield* Provisioning
        const started = yield* provisioning.provision(ALICE, ["notes.read"]).pipe(Effect.provide(urlElicitation))
        expect(started.status).toBe("pending")
        const cache = yield* ScopeCache
        expect(Option.isNone(yield* cache.get(ALICE))).toBe(true) // now cached as "none" for minutes
        fake.script(0, "pending", "pending", { completed: "pw-1" })
        yield* makePoller
        yield* TestClock.adjust(1.2 * INTERVAL)
        expect(fake.pollsOf(0)).toHaveLength(2)
        expect(yield* grantOf()).toBeNull()
        expect(notified).toEqual([])
        yield* TestClock.adjust(1.2 * INTERVAL)
        expect(fake.pollsOf(0)).toHaveLength(3)
        const grant = yield* grantOf()
        expect(grant).toMatchObject({ loginName: "alice@example.org", ncUserId: "alice", scopes: ["notes.read"] })
        expect(yield* flowOf()).toBeNull()
        expect(Option.getOrNull(yield* cache.get(ALICE))?.loginName).toBe("alice@example.org")
        expect(notified).toEqual(["elicit-1"])
        expect(fake.whoami.map((c) => c.appPassword)).toEqual(["pw-1"])
        expect(yield* eventsOf()).toEqual(["flow_started", "flow_completed", "grant_stored"])
        // nothing left to poll
        yield* TestClock.adjust(MINUTE)
        expect(fake.pollsOf(0)).toHaveLength(3)
      })
    )
  })
})

describe("deadline and cleanup", () => {
  it.effect("a flow is polled until just before 20 minutes, never at or after; expiry is audited once and kept for the retention period", () => {
    const fake = makeFakeNextcloud()
    const interval = 30 * SECOND
    return run(
      fake,
      Effect.gen(function* () {
        yield* startFlow()
        const provisioning = yield* Provisioning
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* makePoller
            yield* TestClock.adjust(20 * MINUTE - 1)
            const before = fake.pollsOf(0)
            expect(before.at(-1)?.at).toBeLessThan(20 * MINUTE)
            expect(before.at(-1)?.at).toBeGreaterThanOrEqual(20 * MINUTE - 1.2 * interval)
            expect(yield* eventsOf()).toEqual(["flow_started"])
            yield* TestClock.adjust(1)
            yield* TestClock.adjust(10 * MINUTE)
            expect(fake.pollsOf(0)).toHaveLength(before.length)
            expect(yield* eventsOf()).toEqual(["flow_started", "flow_expired"])
          })
        )
        // check_status keeps saying "expired", and does not audit it again
        expect(yield* provisioning.status(ALICE)).toEqual({ status: "not_initiated", expired: true })
        expect(yield* provisioning.status(ALICE)).toEqual({ status: "not_initiated", expired: true })
        expect(yield* eventsOf()).toEqual(["flow_started", "flow_expired"])
        expect(yield* flowOf()).not.toBeNull()
        // still within the retention period: a (re)started poller keeps it
        yield* TestClock.adjust(23 * 60 * MINUTE)
        yield* Effect.scoped(Effect.zipRight(makePoller, TestClock.adjust(0)))
        expect(yield* flowOf()).not.toBeNull()
        // past the retention period: removed at the next sweep
        yield* TestClock.adjust(2 * 60 * MINUTE)
        yield* Effect.scoped(Effect.zipRight(makePoller, TestClock.adjust(0)))
        expect(yield* flowOf()).toBeNull()
        expect(yield* provisioning.status(ALICE)).toEqual({ status: "not_initiated", expired: false })
        expect(yield* eventsOf()).toEqual(["flow_started", "flow_expired"])
      }),
      { pollInterval: Duration.millis(interval) }
    )
  })

  it.effect("a restarted poller does not audit an expiry twice", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* startFlow()
        yield* Effect.scoped(Effect.zipRight(makePoller, TestClock.adjust(25 * MINUTE)))
        expect(yield* eventsOf()).toEqual(["flow_started", "flow_expired"])
        const polls = fake.polls.length
        yield* makePoller
        yield* TestClock.adjust(MINUTE)
        expect(yield* eventsOf()).toEqual(["flow_started", "flow_expired"])
        expect(fake.polls.length).toBe(polls)
      }),
      { pollInterval: Duration.seconds(30) }
    )
  })

  it.effect("audit entries and rate-limit history older than the retention are pruned hourly", () => {
    const fake = makeFakeNextcloud()
    const BOB = UserId.make("bob")
    const HOUR = 60 * MINUTE
    return run(
      fake,
      Effect.gen(function* () {
        const storage = yield* Storage
        yield* startFlow() // audited and counted at 0
        yield* makePoller
        yield* TestClock.adjust(48 * HOUR)
        yield* startFlow(BOB) // at 2 days
        yield* TestClock.adjust(24 * HOUR - 1)
        // alice's entries are not yet older than the 3-day retention
        expect(yield* eventsOf()).toEqual(["flow_started", "flow_expired"])
        expect(yield* storage.flowStartsSince(ALICE, 0)).toEqual([0])
        yield* TestClock.adjust(HOUR + 1)
        // the start (at 0) is gone; the expiry (audited at the first sweep after 20 min) goes an hour or so later
        expect((yield* eventsOf())).not.toContain("flow_started")
        expect(yield* storage.flowStartsSince(ALICE, 0)).toEqual([])
        yield* TestClock.adjust(3 * HOUR)
        expect(yield* eventsOf()).toEqual([])
        expect(yield* eventsOf(BOB)).toEqual(["flow_started", "flow_expired"])
        expect(yield* storage.flowStartsSince(BOB, 0)).toEqual([48 * HOUR])
      }),
      { auditRetention: Duration.days(3), pollInterval: Duration.hours(1) }
    )
  })
})

// ---------------------------------------------------------------------------

const Step: FastCheck.Arbitrary<PollStep> = FastCheck.oneof(
  FastCheck.constantFrom<PollStep>("pending", "5xx", "timeout", "malformed"),
  FastCheck.constant<PollStep>({ completed: "pw-prop" })
)

describe("poll state machine (property)", () => {
  it("for any interleaving of answers before the deadline: provisioned iff a completion was answered; a transient error never loses the flow", async () => {
    await FastCheck.assert(
      // With one poll a minute and back-off capped at two minutes, 8 answers always fit before the deadline.
      FastCheck.asyncProperty(FastCheck.array(Step, { maxLength: 8 }), async (steps) => {
        const fake = makeFakeNextcloud()
        const program = Effect.gen(function* () {
          yield* startFlow()
          fake.script(0, ...steps)
          yield* makePoller
          // Check along the way that the flow is never dropped before it ends.
          for (let t = 0; t < 20 * MINUTE; t += 4 * MINUTE) {
            yield* TestClock.adjust(4 * MINUTE)
            const flow = yield* flowOf()
            const grant = yield* grantOf()
            expect(flow !== null || grant !== null).toBe(true)
          }
          // the first sweep after the deadline (within 1.2 intervals) records the expiry
          yield* TestClock.adjust(1.2 * MINUTE)
          const answered = fake.pollsOf(0).some((p) => typeof p.step === "object")
          const grant = yield* grantOf()
          const flow = yield* flowOf()
          expect(answered).toBe(steps.some((s) => typeof s === "object"))
          expect(grant !== null).toBe(answered)
          if (answered) {
            expect(flow).toBeNull()
            expect(grant?.loginName).toBe("alice@example.org")
          } else {
            // kept (expired) for the retention period, audited as expired
            expect(flow).not.toBeNull()
            expect(yield* eventsOf()).toEqual(["flow_started", "flow_expired"])
          }
        })
        await Effect.runPromise(
          program.pipe(
            Effect.scoped,
            Effect.provide(lifecycleLayer(fake, { pollInterval: Duration.minutes(1) })),
            Effect.provide(TestContext.TestContext)
          )
        )
      }),
      { numRuns: 12 }
    )
  })
})
