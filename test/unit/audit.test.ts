// Own file: TestClock.
/**
 * The Audit service over real in-memory SQLite: entries carry the Clock's
 * time, a failing log never fails the caller (it is logged), refusals name
 * the tool and count repeats, and an expired flow is recorded once — also
 * when asked concurrently, and after a restart.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Logger, TestClock } from "effect"
import { Audit } from "../../src/provisioning/Audit.js"
import { ProvisioningConfig } from "../../src/provisioning/ProvisioningConfig.js"
import { Storage, StorageError } from "../../src/storage/Storage.js"
import { fakeStorage } from "../support/fakes.js"
import { ALICE, memoryStorage } from "../support/lifecycle.js"
import { flow } from "../storage/fixtures.js"

const config = ProvisioningConfig.layer({ expiredFlowRetention: Duration.hours(24) })

/** A fresh Audit over `storage`: what a restarted process has. */
const auditOver = <E>(storage: Layer.Layer<Storage, E>) =>
  Layer.build(Audit.layer.pipe(Layer.provide(Layer.merge(storage, config)))).pipe(Effect.map((ctx) => Context.get(ctx, Audit)))

const auditLog = Effect.flatMap(Storage, (s) => s.auditLog(ALICE, 100))

const withLog = <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const lines: Array<string> = []
  const logger = Logger.make(({ message }) => void lines.push(JSON.stringify(message)))
  return effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Effect.map((a) => ({ a, lines })))
}

const expiring = flow("alice-local", { createdAt: 0, purpose: "update" })

describe("Audit", () => {
  it.scoped("an entry is written with the Clock's time and its details", () =>
    Effect.gen(function* () {
      const storage = yield* Layer.memoize(memoryStorage())
      const audit = yield* auditOver(storage)
      yield* TestClock.adjust(1234)
      yield* audit.record(ALICE, "grant_revoked", { reason: "requested" })
      const log = yield* auditLog.pipe(Effect.provide(storage))
      expect(log).toMatchObject([{ at: 1234, userId: ALICE, event: "grant_revoked", detail: { reason: "requested" }, count: 1 }])
    }))

  it.scoped("a failing log is logged and never fails the caller", () =>
    Effect.gen(function* () {
      const broken = fakeStorage({
        audit: () => Effect.fail(new StorageError({ operation: "audit", cause: "disk full" })),
        auditCoalesced: () => Effect.fail(new StorageError({ operation: "auditCoalesced", cause: "disk full" }))
      })
      const audit = yield* auditOver(broken)
      const { lines } = yield* withLog(
        Effect.zipRight(audit.record(ALICE, "flow_started"), audit.refusal(ALICE, { tool: null, reason: "why", detail: { reason: "why" } }))
      )
      expect(lines).toEqual([
        expect.stringContaining("audit entry not written"),
        expect.stringContaining("audit entry not written")
      ])
      expect(lines.join("\n")).toContain('"event":"flow_started"')
      expect(lines.join("\n")).toContain('"event":"access_denied"')
    }))

  it.scoped("refusals name the tool being called and count repeats of one tool and reason into one row", () =>
    Effect.gen(function* () {
      const storage = yield* Layer.memoize(memoryStorage())
      const audit = yield* auditOver(storage)
      for (let i = 0; i < 3; i++) yield* audit.refusal(ALICE, { tool: "nc_a", reason: "r1", detail: { reason: "r1" } })
      yield* audit.refusal(ALICE, { tool: "nc_b", reason: "r1", detail: { reason: "r1" } })
      yield* audit.refusal(ALICE, { tool: "nc_a", reason: "r2", detail: { reason: "r2" } })
      // Outside a tool call (the background poller): no tool named.
      yield* audit.refusal(ALICE, { tool: null, reason: "r1", detail: { reason: "r1" } })
      const log = yield* auditLog.pipe(Effect.provide(storage))
      const rows = log.map((e) => [e.event, e.detail["tool"] ?? "(none)", e.detail["reason"], e.count])
      expect(rows.sort()).toEqual([
        ["access_denied", "(none)", "r1", 1],
        ["access_denied", "nc_a", "r1", 3],
        ["access_denied", "nc_a", "r2", 1],
        ["access_denied", "nc_b", "r1", 1]
      ])
    }))
})

describe("Audit.flowExpired", () => {
  it.scoped("records a flow's expiry once, even asked concurrently; another flow is its own", () =>
    Effect.gen(function* () {
      const storage = yield* Layer.memoize(memoryStorage())
      const audit = yield* auditOver(storage)
      const answers = yield* Effect.all(Array.from({ length: 5 }, () => audit.flowExpired(expiring)), { concurrency: "unbounded" })
      expect(answers.filter((first) => first)).toHaveLength(1)
      expect(yield* audit.flowExpired(expiring)).toBe(false)
      expect(yield* audit.flowExpired({ ...expiring, createdAt: 5 })).toBe(true)
      const log = yield* auditLog.pipe(Effect.provide(storage))
      expect(log.map((e) => [e.event, e.detail])).toEqual([
        ["flow_expired", { purpose: "update", flow_created_at: 5 }],
        ["flow_expired", { purpose: "update", flow_created_at: 0 }]
      ])
    }))

  it.scoped("after a restart the log says it was recorded; past the retention memory, the log still does", () =>
    Effect.gen(function* () {
      const storage = yield* Layer.memoize(memoryStorage())
      const first = yield* auditOver(storage)
      expect(yield* first.flowExpired(expiring)).toBe(true)
      const restarted = yield* auditOver(storage)
      expect(yield* restarted.flowExpired(expiring)).toBe(false)
      yield* TestClock.adjust(Duration.hours(25))
      expect(yield* first.flowExpired(expiring)).toBe(false)
      const log = yield* auditLog.pipe(Effect.provide(storage))
      expect(log.filter((e) => e.event === "flow_expired")).toHaveLength(1)
    }))
})
