/**
 * Behavioural contract of `StorageShape`, independent of the backend.
 *
 * `makeLayer` must return a layer over a fresh, empty store each time it is
 * called (every test gets its own).
 *
 * `nulInText: false` keeps NUL characters out of the generated plaintext
 * columns, for backends whose text type cannot hold them (PostgreSQL).
 *
 * `reopenable` (for backends whose data outlives a layer) returns a fresh,
 * empty store that can be opened several times, each time with the cipher
 * given: the key-rotation tests write with one key and read with others.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, FastCheck, Layer, Option, Redacted } from "effect"
import { Cipher } from "../../src/storage/Cipher.js"
import { Storage } from "../../src/storage/Storage.js"
import {
  arbFlow,
  arbGrant,
  arbScopes,
  arbTime,
  arbUserId,
  flow,
  flowWithoutNul,
  grant,
  grantWithoutNul,
  noNul,
  plainFlow,
  plainGrant,
  randomKey,
  TWENTY_MINUTES,
  uid
} from "./fixtures.js"

const arbTimes = FastCheck.array(arbTime, { maxLength: 10 })

export interface StorageSuiteOptions {
  readonly nulInText?: boolean
  readonly reopenable?: () => (cipher: Layer.Layer<Cipher, unknown>) => Layer.Layer<Storage, unknown>
}

export const storageSuite = (
  name: string,
  makeLayer: () => Layer.Layer<Storage, unknown>,
  options: StorageSuiteOptions = {}
): void => {
  const run = <A, E>(effect: Effect.Effect<A, E, Storage>) => Effect.provide(effect, makeLayer())
  const nul = options.nulInText ?? true
  const arbG = nul ? arbGrant : arbGrant.map(grantWithoutNul)
  const arbF = nul ? arbFlow : arbFlow.map(flowWithoutNul)
  const arbU = nul ? arbUserId : arbUserId.map((u) => uid(noNul(u)))

  describe(`${name}: grants`, () => {
    it.effect("an unknown user has no grant", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          expect(Option.isNone(yield* storage.getGrant(uid("nobody")))).toBe(true)
        })
      ))

    it.effect("putGrant stores the grant and reports no previous one", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const g = grant("alice", { ncUserId: "alice-nc", scopes: ["files.read"] })
          expect(Option.isNone(yield* storage.putGrant(g))).toBe(true)
          const stored = yield* storage.getGrant(g.userId)
          expect(Option.map(stored, plainGrant)).toEqual(Option.some(plainGrant(g)))
        })
      ))

    it.effect("putGrant replaces and returns the grant it replaced", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const first = grant("alice", { scopes: null })
          const second = grant("alice", { loginName: "alice2", scopes: ["deck.read"], createdAt: 2_000, updatedAt: 2_000 })
          yield* storage.putGrant(first)
          const previous = yield* storage.putGrant(second)
          expect(Option.map(previous, plainGrant)).toEqual(Option.some(plainGrant(first)))
          expect(Option.map(yield* storage.getGrant(first.userId), plainGrant)).toEqual(Option.some(plainGrant(second)))
        })
      ))

    it.effect("grants of different users are independent", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const a = grant("a")
          const b = grant("b")
          yield* storage.putGrant(a)
          yield* storage.putGrant(b)
          yield* storage.deleteGrant(a.userId)
          expect(Option.isNone(yield* storage.getGrant(a.userId))).toBe(true)
          expect(Option.map(yield* storage.getGrant(b.userId), plainGrant)).toEqual(Option.some(plainGrant(b)))
        })
      ))

    it.effect("updateScopes changes scopes and updatedAt, false without a grant", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const g = grant("alice", { scopes: null })
          expect(yield* storage.updateScopes(g.userId, ["notes.read"], 5_000)).toBe(false)
          yield* storage.putGrant(g)
          expect(yield* storage.updateScopes(g.userId, ["notes.read"], 5_000)).toBe(true)
          const narrowed = Option.getOrThrow(yield* storage.getGrant(g.userId))
          expect(narrowed.scopes).toEqual(["notes.read"])
          expect(narrowed.updatedAt).toBe(5_000)
          expect(narrowed.createdAt).toBe(g.createdAt)
          expect(Redacted.value(narrowed.appPassword)).toBe(Redacted.value(g.appPassword))
          expect(yield* storage.updateScopes(g.userId, [], 6_000)).toBe(true)
          expect(Option.getOrThrow(yield* storage.getGrant(g.userId)).scopes).toEqual([])
          expect(yield* storage.updateScopes(g.userId, null, 7_000)).toBe(true)
          expect(Option.getOrThrow(yield* storage.getGrant(g.userId)).scopes).toBeNull()
        })
      ))

    it.effect("setNcUserId sets the Nextcloud user id, false without a grant", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const g = grant("alice")
          expect(yield* storage.setNcUserId(g.userId, "nc-alice", 3_000)).toBe(false)
          yield* storage.putGrant(g)
          expect(yield* storage.setNcUserId(g.userId, "nc-alice", 3_000)).toBe(true)
          const stored = Option.getOrThrow(yield* storage.getGrant(g.userId))
          expect(stored.ncUserId).toBe("nc-alice")
          expect(stored.updatedAt).toBe(3_000)
          expect(stored.scopes).toEqual(g.scopes)
        })
      ))

    it.effect("setNcUserId with onlyCreatedAt leaves a grant that replaced it alone", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const g = grant("erin", { createdAt: 7_000, updatedAt: 7_000, ncUserId: null })
          yield* storage.putGrant(g)
          expect(yield* storage.setNcUserId(g.userId, "someone-else", 8_000, 1_000)).toBe(false)
          expect(Option.getOrThrow(yield* storage.getGrant(g.userId)).ncUserId).toBeNull()
          expect(yield* storage.setNcUserId(g.userId, "nc-erin", 8_000, 7_000)).toBe(true)
          expect(Option.getOrThrow(yield* storage.getGrant(g.userId)).ncUserId).toBe("nc-erin")
        })
      ))

    it.effect("deleteGrant returns the deleted grant, none when absent", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const g = grant("alice")
          expect(Option.isNone(yield* storage.deleteGrant(g.userId))).toBe(true)
          yield* storage.putGrant(g)
          expect(Option.map(yield* storage.deleteGrant(g.userId), plainGrant)).toEqual(Option.some(plainGrant(g)))
          expect(Option.isNone(yield* storage.getGrant(g.userId))).toBe(true)
        })
      ))

    it.effect("deleteGrant with onlyCreatedAt leaves a grant that replaced it", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const old = grant("alice", { createdAt: 1_000 })
          const replacement = grant("alice", { createdAt: 2_000, updatedAt: 2_000 })
          yield* storage.putGrant(old)
          yield* storage.putGrant(replacement)
          expect(Option.isNone(yield* storage.deleteGrant(old.userId, old.createdAt))).toBe(true)
          expect(Option.map(yield* storage.getGrant(old.userId), plainGrant)).toEqual(
            Option.some(plainGrant(replacement))
          )
          const deleted = yield* storage.deleteGrant(old.userId, replacement.createdAt)
          expect(Option.map(deleted, plainGrant)).toEqual(Option.some(plainGrant(replacement)))
          expect(Option.isNone(yield* storage.getGrant(old.userId))).toBe(true)
        })
      ))
  })

  describe(`${name}: login flows`, () => {
    it.effect("putFlow / getFlow round trip; putFlow replaces", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const f1 = flow("alice", { requestedScopes: ["notes.read"], elicitationId: "el-1" })
          expect(Option.isNone(yield* storage.getFlow(f1.userId))).toBe(true)
          yield* storage.putFlow(f1)
          expect(Option.map(yield* storage.getFlow(f1.userId), plainFlow)).toEqual(Option.some(plainFlow(f1)))
          const f2 = flow("alice", { purpose: "update", createdAt: 9_000 })
          yield* storage.putFlow(f2)
          expect(Option.map(yield* storage.getFlow(f1.userId), plainFlow)).toEqual(Option.some(plainFlow(f2)))
        })
      ))

    it.effect("deleteFlow reports whether a row went; onlyCreatedAt guards a newer flow", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const old = flow("alice", { createdAt: 1_000 })
          const newer = flow("alice", { createdAt: 2_000 })
          expect(yield* storage.deleteFlow(old.userId)).toBe(false)
          yield* storage.putFlow(old)
          yield* storage.putFlow(newer)
          expect(yield* storage.deleteFlow(old.userId, old.createdAt)).toBe(false)
          expect(Option.map(yield* storage.getFlow(old.userId), plainFlow)).toEqual(Option.some(plainFlow(newer)))
          expect(yield* storage.deleteFlow(old.userId, newer.createdAt)).toBe(true)
          expect(Option.isNone(yield* storage.getFlow(old.userId))).toBe(true)
          yield* storage.putFlow(old)
          expect(yield* storage.deleteFlow(old.userId)).toBe(true)
          expect(yield* storage.deleteFlow(old.userId)).toBe(false)
        })
      ))

    it.effect("completeFlow stores the grant and removes the flow together", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const previous = grant("alice", { scopes: ["notes.read"] })
          const f = flow("alice", { purpose: "update" })
          const other = flow("bob")
          yield* storage.putGrant(previous)
          yield* storage.putFlow(f)
          yield* storage.putFlow(other)
          const g = grant("alice", { scopes: null, createdAt: 5_000, updatedAt: 5_000 })
          const replaced = yield* storage.completeFlow(g)
          expect(Option.map(replaced, plainGrant)).toEqual(Option.some(plainGrant(previous)))
          expect(Option.map(yield* storage.getGrant(g.userId), plainGrant)).toEqual(Option.some(plainGrant(g)))
          expect(Option.isNone(yield* storage.getFlow(g.userId))).toBe(true)
          expect(Option.isSome(yield* storage.getFlow(other.userId))).toBe(true)
        })
      ))

    it.effect("claimFlows by one owner goes round all flows when there are more than its limit", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const now = 50_000
          for (const [i, id] of ["r1", "r2", "r3"].entries()) {
            yield* storage.putFlow(flow(id, { createdAt: 1_000 + i, expiresAt: now + TWENTY_MINUTES }))
          }
          const seen: Array<string> = []
          for (let k = 0; k < 3; k++) {
            const claimed = yield* storage.claimFlows("poller-a", now + k, 60_000, 1)
            seen.push(...claimed.map((f) => f.userId))
          }
          expect(seen).toEqual(["r1", "r2", "r3"])
          // All held by this owner now: the next claim renews the one leased longest ago.
          expect((yield* storage.claimFlows("poller-a", now + 3, 60_000, 1)).map((f) => f.userId)).toEqual(["r1"])
        })
      ))

    it.effect("completeFlow of an older flow leaves a newer flow of the same user in place", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const newer = flow("dora", { createdAt: 9_000 })
          yield* storage.putFlow(newer)
          yield* storage.completeFlow(grant("dora", { createdAt: 10_000, updatedAt: 10_000 }), 1_000)
          expect(Option.map(yield* storage.getFlow(newer.userId), (f) => f.createdAt)).toEqual(Option.some(9_000))
          expect(Option.isSome(yield* storage.getGrant(newer.userId))).toBe(true)
          yield* storage.completeFlow(grant("dora", { createdAt: 11_000, updatedAt: 11_000 }), 9_000)
          expect(Option.isNone(yield* storage.getFlow(newer.userId))).toBe(true)
        })
      ))

    it.effect("completeFlow without a previous grant or pending flow still stores the grant", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const g = grant("carol")
          expect(Option.isNone(yield* storage.completeFlow(g))).toBe(true)
          expect(Option.map(yield* storage.getGrant(g.userId), plainGrant)).toEqual(Option.some(plainGrant(g)))
        })
      ))

    it.effect("listActiveFlows: unexpired at now, oldest first, at most limit", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const now = 100_000
          const flows = [
            flow("d", { createdAt: 40_000, expiresAt: now + 1 }),
            flow("a", { createdAt: 10_000, expiresAt: now + TWENTY_MINUTES }),
            flow("expired", { createdAt: 5_000, expiresAt: now - 1 }),
            flow("edge", { createdAt: 6_000, expiresAt: now }),
            flow("c", { createdAt: 30_000, expiresAt: now + 10 }),
            flow("b", { createdAt: 20_000, expiresAt: now + 10 })
          ]
          yield* Effect.forEach(flows, storage.putFlow)
          const all = yield* storage.listActiveFlows(now, 100)
          expect(all.map((f) => f.userId)).toEqual(["a", "b", "c", "d"])
          expect(all.map(plainFlow)).toEqual(
            ["a", "b", "c", "d"].map((u) => plainFlow(flows.find((f) => f.userId === u)!))
          )
          expect((yield* storage.listActiveFlows(now, 2)).map((f) => f.userId)).toEqual(["a", "b"])
          expect(yield* storage.listActiveFlows(now, 0)).toEqual([])
          expect(yield* storage.listActiveFlows(now + TWENTY_MINUTES, 10)).toEqual([])
        })
      ))

    it.effect("deleteExpiredFlows removes flows that expired before the time and counts them", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          yield* storage.putFlow(flow("a", { expiresAt: 10 }))
          yield* storage.putFlow(flow("b", { expiresAt: 20 }))
          yield* storage.putFlow(flow("c", { expiresAt: 30 }))
          expect(yield* storage.deleteExpiredFlows(20)).toBe(1)
          expect(Option.isNone(yield* storage.getFlow(uid("a")))).toBe(true)
          expect(Option.isSome(yield* storage.getFlow(uid("b")))).toBe(true)
          expect(yield* storage.deleteExpiredFlows(31)).toBe(2)
          expect(yield* storage.deleteExpiredFlows(1_000)).toBe(0)
        })
      ))
  })

  describe(`${name}: flow leases`, () => {
    const LEASE = 30_000
    const now = 100_000
    const ids = (flows: ReadonlyArray<{ readonly userId: string }>) => flows.map((f) => f.userId)

    it.effect("claimFlows leases unexpired flows oldest first and returns them as stored", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const flows = [
            flow("b", { createdAt: 20_000, expiresAt: now + 10, requestedScopes: ["notes.read"], elicitationId: "el" }),
            flow("a", { createdAt: 10_000, expiresAt: now + TWENTY_MINUTES, purpose: "update" }),
            flow("expired", { createdAt: 5_000, expiresAt: now })
          ]
          yield* Effect.forEach(flows, storage.putFlow)
          const claimed = yield* storage.claimFlows("replica-1", now, LEASE, 10)
          expect(claimed.map(plainFlow)).toEqual([plainFlow(flows[1]!), plainFlow(flows[0]!)])
          expect(yield* storage.claimFlows("replica-1", now, LEASE, 0)).toEqual([])
          // Leases do not hide flows from reads.
          expect(ids(yield* storage.listActiveFlows(now, 10))).toEqual(["a", "b"])
          expect(Option.isSome(yield* storage.getFlow(uid("a")))).toBe(true)
        })
      ))

    it.effect("another owner gets no leased flow until the lease runs out", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          yield* storage.putFlow(flow("a", { createdAt: 10_000, expiresAt: now + TWENTY_MINUTES }))
          yield* storage.putFlow(flow("b", { createdAt: 20_000, expiresAt: now + TWENTY_MINUTES }))
          expect(ids(yield* storage.claimFlows("one", now, LEASE, 1))).toEqual(["a"])
          expect(ids(yield* storage.claimFlows("two", now + 1, LEASE, 10))).toEqual(["b"])
          expect(yield* storage.claimFlows("three", now + LEASE - 1, LEASE, 10)).toEqual([])
          // At now + LEASE the first lease has run out; the second (taken at now + 1) holds.
          expect(ids(yield* storage.claimFlows("three", now + LEASE, LEASE, 10))).toEqual(["a"])
          expect(yield* storage.claimFlows("one", now + LEASE, LEASE, 10)).toEqual([])
        })
      ))

    it.effect("the holder renews its lease by claiming again", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          yield* storage.putFlow(flow("a", { createdAt: 10_000, expiresAt: now + TWENTY_MINUTES }))
          expect(ids(yield* storage.claimFlows("one", now, LEASE, 10))).toEqual(["a"])
          expect(ids(yield* storage.claimFlows("one", now + LEASE - 1, LEASE, 10))).toEqual(["a"])
          expect(yield* storage.claimFlows("two", now + LEASE, LEASE, 10)).toEqual([])
          expect(ids(yield* storage.claimFlows("two", now + 2 * LEASE - 1, LEASE, 10))).toEqual(["a"])
        })
      ))

    it.effect("releaseFlow frees the holder's lease only", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const a = flow("a", { createdAt: 10_000, expiresAt: now + TWENTY_MINUTES })
          expect(yield* storage.releaseFlow(a.userId, "one")).toBe(false)
          yield* storage.putFlow(a)
          expect(yield* storage.releaseFlow(a.userId, "one")).toBe(false)
          yield* storage.claimFlows("one", now, LEASE, 10)
          expect(yield* storage.releaseFlow(a.userId, "two")).toBe(false)
          expect(yield* storage.claimFlows("two", now, LEASE, 10)).toEqual([])
          expect(yield* storage.releaseFlow(a.userId, "one")).toBe(true)
          expect(yield* storage.releaseFlow(a.userId, "one")).toBe(false)
          expect(ids(yield* storage.claimFlows("two", now, LEASE, 10))).toEqual(["a"])
          expect(Option.map(yield* storage.getFlow(a.userId), plainFlow)).toEqual(Option.some(plainFlow(a)))
        })
      ))

    it.effect("replacing a flow clears its lease; completing or deleting a leased flow removes it", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          yield* storage.putFlow(flow("a", { createdAt: 10_000, expiresAt: now + TWENTY_MINUTES }))
          yield* storage.putFlow(flow("b", { createdAt: 10_000, expiresAt: now + TWENTY_MINUTES }))
          yield* storage.putFlow(flow("c", { createdAt: 10_000, expiresAt: now + TWENTY_MINUTES }))
          expect(ids(yield* storage.claimFlows("one", now, LEASE, 10))).toEqual(["a", "b", "c"])
          const replacement = flow("a", { createdAt: 50_000, expiresAt: now + TWENTY_MINUTES })
          yield* storage.putFlow(replacement)
          yield* storage.completeFlow(grant("b"))
          expect(yield* storage.deleteFlow(uid("c"))).toBe(true)
          const taken = yield* storage.claimFlows("two", now, LEASE, 10)
          expect(taken.map(plainFlow)).toEqual([plainFlow(replacement)])
        })
      ))
  })

  describe(`${name}: history`, () => {
    it.effect("flowStartsSince: the user's starts at or after since, oldest first", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const alice = uid("alice")
          yield* storage.recordFlowStart(alice, 300)
          yield* storage.recordFlowStart(alice, 100)
          yield* storage.recordFlowStart(alice, 200)
          yield* storage.recordFlowStart(alice, 200)
          yield* storage.recordFlowStart(uid("bob"), 250)
          expect(yield* storage.flowStartsSince(alice, 0)).toEqual([100, 200, 200, 300])
          expect(yield* storage.flowStartsSince(alice, 200)).toEqual([200, 200, 300])
          expect(yield* storage.flowStartsSince(alice, 301)).toEqual([])
          expect(yield* storage.flowStartsSince(uid("bob"), 0)).toEqual([250])
          expect(yield* storage.flowStartsSince(uid("nobody"), 0)).toEqual([])
        })
      ))

    it.effect("auditLog: newest first, per user or all, at most limit, details kept", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const alice = uid("alice")
          const bob = uid("bob")
          yield* storage.audit({ at: 1, userId: alice, event: "flow_started", detail: { scopes: ["notes.read"] } })
          yield* storage.audit({ at: 2, userId: bob, event: "grant_stored", detail: {} })
          yield* storage.audit({
            at: 3,
            userId: alice,
            event: "grant_narrowed",
            detail: { from: null, to: ["notes.read"], nested: { n: 1, ok: true } }
          })
          yield* storage.audit({ at: 3, userId: alice, event: "access_denied", detail: { reason: "scope" } })
          const aliceLog = yield* storage.auditLog(alice, 10)
          expect(aliceLog).toEqual([
            { at: 3, userId: alice, event: "access_denied", detail: { reason: "scope" }, count: 1, lastAt: 3 },
            {
              at: 3,
              userId: alice,
              event: "grant_narrowed",
              detail: { from: null, to: ["notes.read"], nested: { n: 1, ok: true } },
              count: 1,
              lastAt: 3
            },
            { at: 1, userId: alice, event: "flow_started", detail: { scopes: ["notes.read"] }, count: 1, lastAt: 1 }
          ])
          expect((yield* storage.auditLog(null, 10)).map((e) => e.event)).toEqual([
            "access_denied",
            "grant_narrowed",
            "grant_stored",
            "flow_started"
          ])
          expect((yield* storage.auditLog(null, 2)).map((e) => e.at)).toEqual([3, 3])
          expect(yield* storage.auditLog(uid("nobody"), 10)).toEqual([])
          expect(yield* storage.auditLog(alice, 0)).toEqual([])
        })
      ))

    it.effect("auditCoalesced: repeats of one user, event and key in one window count into its first entry", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const alice = uid("alice")
          const bob = uid("bob")
          const minute = 60_000
          const denied = (userId: typeof alice, at: number, key: string, detail: Record<string, unknown> = {}) =>
            storage.auditCoalesced({ at, userId, event: "access_denied", detail }, { key, windowMs: minute })
          yield* denied(alice, minute + 5, "nc_files_write|grant:files.write", { tool: "nc_files_write", first: true })
          yield* denied(alice, minute + 10, "nc_files_write|grant:files.write", { tool: "nc_files_write", first: false })
          yield* denied(alice, 2 * minute - 1, "nc_files_write|grant:files.write")
          // Another key, another user, the next window, a plain entry: rows of their own.
          yield* denied(alice, minute + 20, "nc_notes_get|grant:notes.read")
          yield* denied(bob, minute + 30, "nc_files_write|grant:files.write")
          yield* denied(alice, 2 * minute, "nc_files_write|grant:files.write")
          yield* storage.audit({ at: minute + 40, userId: alice, event: "access_denied", detail: { plain: true } })
          const log = yield* storage.auditLog(alice, 10)
          expect(log).toEqual([
            { at: 2 * minute, userId: alice, event: "access_denied", detail: {}, count: 1, lastAt: 2 * minute },
            { at: minute + 40, userId: alice, event: "access_denied", detail: { plain: true }, count: 1, lastAt: minute + 40 },
            { at: minute + 20, userId: alice, event: "access_denied", detail: {}, count: 1, lastAt: minute + 20 },
            {
              at: minute + 5,
              userId: alice,
              event: "access_denied",
              detail: { tool: "nc_files_write", first: true },
              count: 3,
              lastAt: 2 * minute - 1
            }
          ])
          expect((yield* storage.auditLog(bob, 10)).map((e) => e.count)).toEqual([1])
        })
      ))

    it.effect("auditCoalesced loses no count under concurrent writers, and a repeat arriving out of order keeps lastAt", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const alice = uid("alice")
          const repeat = { key: "k", windowMs: 1_000_000 }
          yield* Effect.forEach(
            Array.from({ length: 40 }, (_, i) => 1_000 + i),
            (at) => storage.auditCoalesced({ at, userId: alice, event: "access_denied", detail: {} }, repeat),
            { concurrency: 8, discard: true }
          )
          yield* storage.auditCoalesced({ at: 500, userId: alice, event: "access_denied", detail: {} }, repeat)
          const [entry, ...rest] = yield* storage.auditLog(alice, 10)
          expect(rest).toEqual([])
          expect(entry).toMatchObject({ count: 41, lastAt: 1_039 })
        })
      ))

    it.effect("pruneHistory drops audit entries and flow starts older than the time", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const alice = uid("alice")
          yield* Effect.forEach([10, 20, 30], (at) => storage.audit({ at, userId: alice, event: "flow_started", detail: {} }))
          yield* Effect.forEach([10, 20, 30], (at) => storage.recordFlowStart(alice, at))
          expect(yield* storage.pruneHistory(20)).toBe(1)
          expect((yield* storage.auditLog(alice, 10)).map((e) => e.at)).toEqual([30, 20])
          expect(yield* storage.flowStartsSince(alice, 0)).toEqual([20, 30])
          expect(yield* storage.pruneHistory(1_000)).toBe(2)
          expect(yield* storage.auditLog(alice, 10)).toEqual([])
          expect(yield* storage.flowStartsSince(alice, 0)).toEqual([])
        })
      ))
  })

  layer(makeLayer())(`${name}: properties`, (it) => {
    it.effect.prop("a stored grant reads back as given", { g: arbG }, ({ g }) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        yield* storage.putGrant(g)
        expect(Option.map(yield* storage.getGrant(g.userId), plainGrant)).toEqual(Option.some(plainGrant(g)))
      })
    )

    it.effect.prop("a stored flow reads back as given", { f: arbF }, ({ f }) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        yield* storage.putFlow(f)
        expect(Option.map(yield* storage.getFlow(f.userId), plainFlow)).toEqual(Option.some(plainFlow(f)))
      })
    )

    it.effect.prop(
      "updateScopes stores any scope set, null included",
      { g: arbG, scopes: arbScopes, at: arbTime },
      ({ at, g, scopes }) =>
        Effect.gen(function* () {
          const storage = yield* Storage
          yield* storage.putGrant(g)
          expect(yield* storage.updateScopes(g.userId, scopes, at)).toBe(true)
          const stored = Option.getOrThrow(yield* storage.getGrant(g.userId))
          expect(stored.scopes).toEqual(scopes)
          expect(stored.updatedAt).toBe(at)
        })
    )

    it.effect.prop("completeFlow leaves the grant and no flow", { g: arbG, f: arbF }, ({ f, g }) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        yield* storage.putFlow({ ...f, userId: g.userId })
        yield* storage.completeFlow(g)
        expect(Option.map(yield* storage.getGrant(g.userId), plainGrant)).toEqual(Option.some(plainGrant(g)))
        expect(Option.isNone(yield* storage.getFlow(g.userId))).toBe(true)
      })
    )

    it.effect.prop("flowStartsSince returns sorted times at or after since", { u: arbU, times: arbTimes, since: arbTime }, ({ since, times, u }) =>
      Effect.gen(function* () {
        const storage = yield* Storage
        const before = yield* storage.flowStartsSince(u, 0)
        yield* Effect.forEach(times, (t) => storage.recordFlowStart(u, t))
        const all = [...before, ...times].sort((a, b) => a - b)
        expect(yield* storage.flowStartsSince(u, since)).toEqual(all.filter((t) => t >= since))
      })
    )
  })

  describe(`${name}: re-encryption`, () => {
    it.effect("reencryptAll on an empty store reports nothing", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          expect(yield* storage.reencryptAll()).toEqual({ reencrypted: 0, current: 0, changed: 0, undecryptable: [] })
        })
      ))

    it.effect("values already under the current key are counted as current and left as they are", () =>
      run(
        Effect.gen(function* () {
          const storage = yield* Storage
          const g = grant("alice")
          const f = flow("bob")
          yield* storage.putGrant(g)
          yield* storage.putFlow(f)
          expect(yield* storage.reencryptAll({ batchSize: 1 })).toEqual({
            reencrypted: 0,
            current: 3,
            changed: 0,
            undecryptable: []
          })
          expect(Option.map(yield* storage.getGrant(g.userId), plainGrant)).toEqual(Option.some(plainGrant(g)))
          expect(Option.map(yield* storage.getFlow(f.userId), plainFlow)).toEqual(Option.some(plainFlow(f)))
        })
      ))
  })

  const reopenable = options.reopenable
  if (reopenable === undefined) return

  describe(`${name}: key rotation`, () => {
    const withKeys =
      (open: (cipher: Layer.Layer<Cipher, unknown>) => Layer.Layer<Storage, unknown>) =>
      (current: Redacted.Redacted<Uint8Array>, previous: ReadonlyArray<Redacted.Redacted<Uint8Array>> = []) =>
      <A, E>(effect: Effect.Effect<A, E, Storage>) =>
        Effect.provide(effect, open(Cipher.layer(current, previous)))

    it.effect("reencryptAll moves every secret to the current key, in batches; then the old key can go", () =>
      Effect.gen(function* () {
        const store = withKeys(reopenable())
        const [oldKey, newKey] = [randomKey(), randomKey()]
        const grants = ["alice", "bob", "carol"].map((u, i) => grant(u, { ncUserId: `${u}-nc`, createdAt: 1_000 + i }))
        const flows = [flow("alice", { requestedScopes: ["notes.read"], createdAt: 2_000 }), flow("dave", { createdAt: 3_000 })]
        yield* store(oldKey)(
          Effect.gen(function* () {
            const storage = yield* Storage
            yield* Effect.forEach(grants, storage.putGrant)
            yield* Effect.forEach(flows, storage.putFlow)
          })
        )
        yield* store(newKey, [oldKey])(
          Effect.gen(function* () {
            const storage = yield* Storage
            // Readable before rotating, through the previous key.
            expect(Option.map(yield* storage.getGrant(uid("bob")), plainGrant)).toEqual(Option.some(plainGrant(grants[1]!)))
            expect(yield* storage.reencryptAll({ batchSize: 2 })).toEqual({
              reencrypted: 3 + 2 * 2,
              current: 0,
              changed: 0,
              undecryptable: []
            })
            expect(yield* storage.reencryptAll()).toEqual({ reencrypted: 0, current: 7, changed: 0, undecryptable: [] })
          })
        )
        yield* store(newKey)(
          Effect.gen(function* () {
            const storage = yield* Storage
            for (const g of grants) {
              expect(Option.map(yield* storage.getGrant(g.userId), plainGrant)).toEqual(Option.some(plainGrant(g)))
            }
            for (const f of flows) {
              expect(Option.map(yield* storage.getFlow(f.userId), plainFlow)).toEqual(Option.some(plainFlow(f)))
            }
          })
        )
      }))

    it.effect("values no key decrypts: read as absent, left untouched and reported by reencryptAll", () =>
      Effect.gen(function* () {
        const store = withKeys(reopenable())
        const [lostKey, newKey] = [randomKey(), randomKey()]
        const alice = grant("alice")
        const aliceFlow = flow("alice")
        yield* store(lostKey)(
          Effect.gen(function* () {
            const storage = yield* Storage
            yield* storage.putGrant(alice)
            yield* storage.putFlow(aliceFlow)
          })
        )
        const bob = grant("bob")
        yield* store(newKey)(
          Effect.gen(function* () {
            const storage = yield* Storage
            yield* storage.putGrant(bob)
            expect(Option.isNone(yield* storage.getGrant(alice.userId))).toBe(true)
            expect(Option.isNone(yield* storage.getFlow(alice.userId))).toBe(true)
            expect(Option.map(yield* storage.getGrant(bob.userId), plainGrant)).toEqual(Option.some(plainGrant(bob)))
            const report = yield* storage.reencryptAll()
            expect(report).toMatchObject({ reencrypted: 0, current: 1, changed: 0 })
            expect([...report.undecryptable].sort((a, b) => (a.field < b.field ? -1 : 1))).toEqual([
              { field: "flow.login_url", userId: alice.userId },
              { field: "flow.poll_token", userId: alice.userId },
              { field: "grant.app_password", userId: alice.userId }
            ])
          })
        )
        // Nothing was deleted: the key that made them still reads them.
        yield* store(lostKey)(
          Effect.gen(function* () {
            const storage = yield* Storage
            expect(Option.map(yield* storage.getGrant(alice.userId), plainGrant)).toEqual(Option.some(plainGrant(alice)))
            expect(Option.map(yield* storage.getFlow(alice.userId), plainFlow)).toEqual(Option.some(plainFlow(aliceFlow)))
          })
        )
      }))

    it.effect("a user whose grant does not decrypt can provision again: the new grant replaces it", () =>
      Effect.gen(function* () {
        const store = withKeys(reopenable())
        yield* store(randomKey())(Effect.flatMap(Storage, (s) => s.putGrant(grant("alice"))))
        yield* store(randomKey())(
          Effect.gen(function* () {
            const storage = yield* Storage
            expect(Option.isNone(yield* storage.getGrant(uid("alice")))).toBe(true)
            const fresh = grant("alice", { createdAt: 9_000 })
            expect(Option.isNone(yield* storage.completeFlow(fresh))).toBe(true)
            expect(Option.map(yield* storage.getGrant(uid("alice")), plainGrant)).toEqual(Option.some(plainGrant(fresh)))
            expect(yield* storage.reencryptAll()).toEqual({ reencrypted: 0, current: 1, changed: 0, undecryptable: [] })
          })
        )
      }))
  })
}
