/**
 * Refusals are audited without flooding the log: repeats of one user, tool
 * and reason within a minute are one row with a count (a client retrying a
 * refused call thousands of times leaves a handful of rows), and the audit
 * log still reads as a timeline. Real SQLite file, TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { join } from "node:path"
import { Effect, Layer, TestClock } from "effect"
import { CurrentUser } from "../../src/auth/CurrentUser.js"
import type { Scope } from "../../src/domain/Scope.js"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { Audit } from "../../src/provisioning/Audit.js"
import { ProvisioningConfig } from "../../src/provisioning/ProvisioningConfig.js"
import * as StorageLayers from "../../src/storage/layer.js"
import { Storage } from "../../src/storage/Storage.js"
import { requireScopes } from "../../src/tools/access.js"
import { provisionAccess } from "../../src/tools/auth.js"
import { ALICE, lifecycleLayer, makeFakeNextcloud, memoryStorage, requestLayer } from "../support/lifecycle.js"
import { grant, randomKey, tempDir } from "../storage/fixtures.js"

const dir = tempDir("nc-mcp-refusals-")

const storageOnFile = () => StorageLayers.layer({ filename: join(dir, `audit-${Date.now()}.db`), key: randomKey() })

/** Scope checks with the audit log, over a fresh SQLite file. */
const scopeChecks = () =>
  Layer.mergeAll(ScopeCache.layer(), Audit.layer).pipe(
    Layer.provide(ProvisioningConfig.layer()),
    Layer.provideMerge(storageOnFile())
  )

/** A stdio caller (no token restriction) whose stored grant allows reading files only. */
const readOnlyCaller = Effect.gen(function* () {
  const storage = yield* Storage
  yield* storage.putGrant({ ...grant("alice-local"), userId: ALICE, scopes: ["files.read"] })
})

const refused = (tool: string, ...scopes: ReadonlyArray<Scope>) =>
  Effect.flip(requireScopes({ tool, scopes })).pipe(Effect.provideService(CurrentUser, { userId: ALICE, tokenScopes: null }))

describe("refusal audit", () => {
  it.effect("3,000 refused calls in five minutes leave a handful of rows whose counts sum to 3,000", () =>
    Effect.gen(function* () {
      yield* readOnlyCaller
      yield* TestClock.adjust(1_000)
      for (let i = 1; i <= 3_000; i++) {
        const error = yield* refused("nc_files_write", "files.write")
        expect(error._tag).toBe("InsufficientScope")
        // Ten a second (moving the clock less often keeps the test fast).
        if (i % 10 === 0) yield* TestClock.adjust(1_000)
      }
      // Another tool refused for another reason, in between: its own row.
      yield* refused("nc_notes_list", "notes.read")

      const log = yield* Effect.flatMap(Storage, (s) => s.auditLog(ALICE, 100))
      const writes = log.filter((e) => e.detail["tool"] === "nc_files_write")
      expect(writes.length).toBeGreaterThanOrEqual(5)
      expect(writes.length).toBeLessThanOrEqual(6)
      expect(writes.reduce((sum, e) => sum + e.count, 0)).toBe(3_000)
      for (const entry of writes) {
        expect(entry).toMatchObject({
          event: "access_denied",
          userId: ALICE,
          detail: { tool: "nc_files_write", missing_scopes: ["files.write"], layer: "grant" }
        })
        expect(entry.lastAt).toBeGreaterThanOrEqual(entry.at)
        expect(entry.lastAt - entry.at).toBeLessThan(60_000)
      }
      // Newest first, each series inside its own minute.
      expect(log.map((e) => e.at)).toEqual([...log.map((e) => e.at)].sort((a, b) => b - a))
      expect(log[0]).toMatchObject({ count: 1, detail: { tool: "nc_notes_list", missing_scopes: ["notes.read"] } })
    }).pipe(Effect.provide(scopeChecks())))

  it.effect("a token lacking the scope is its own reason: counted apart from grant refusals of the same tool", () =>
    Effect.gen(function* () {
      yield* readOnlyCaller
      const byToken = Effect.flip(requireScopes({ tool: "nc_files_write", scopes: ["files.write"] })).pipe(
        Effect.provideService(CurrentUser, { userId: ALICE, tokenScopes: ["files.read"] })
      )
      for (let i = 0; i < 3; i++) yield* byToken
      for (let i = 0; i < 2; i++) yield* refused("nc_files_write", "files.write")
      const log = yield* Effect.flatMap(Storage, (s) => s.auditLog(ALICE, 100))
      expect(log.map((e) => [e.detail["layer"], e.count]).sort()).toEqual([
        ["grant", 2],
        ["token", 3]
      ])
    }).pipe(Effect.provide(scopeChecks())))

  it.effect("repeated rate-limited logins within a minute are one row with a count", () =>
    Effect.gen(function* () {
      const start = (scopes: Array<string>) =>
        provisionAccess.handler({ scopes }, { tool: "nc_auth_provision_access" }).pipe(Effect.provide(requestLayer()))
      expect((yield* start(["notes.read"])).status).toBe("login_required")
      for (let i = 0; i < 4; i++) {
        expect(yield* Effect.flip(start(["notes.write"]))).toMatchObject({ _tag: "RateLimited" })
        yield* TestClock.adjust(1_000)
      }
      const denied = (yield* Effect.flatMap(Storage, (s) => s.auditLog(ALICE, 100))).filter(
        (e) => e.event === "access_denied"
      )
      expect(denied).toHaveLength(1)
      expect(denied[0]).toMatchObject({
        count: 4,
        detail: { reason: "flow_start_rate_limit", tool: "nc_auth_provision_access" }
      })
    }).pipe(Effect.scoped, Effect.provide(lifecycleLayer(makeFakeNextcloud(), { flowStartLimit: 1 }, memoryStorage()))))
})

