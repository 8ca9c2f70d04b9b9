// Own file: TestClock.
/**
 * Races and corner cases of the Provisioning service: an elicitation answered
 * after its login completed, narrowing while a widening is pending, a pending
 * widening seen by check_status, a rate-limited widening, a 401 for a
 * password that was already replaced.
 */
import { randomBytes } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Redacted, TestClock } from "effect"
import { CurrentUser } from "../../src/auth/CurrentUser.js"
import { Elicitation, ElicitationCompletions, type LoginUrlOutcome } from "../../src/auth/Elicitation.js"
import { requireScopes } from "../../src/auth/Policy.js"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { UserId } from "../../src/domain/Ids.js"
import type { Scope } from "../../src/domain/Scope.js"
import { Progress } from "../../src/mcp/Progress.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import { ProvisioningConfig } from "../../src/provisioning/ProvisioningConfig.js"
import * as StorageLayers from "../../src/storage/layer.js"
import { Storage } from "../../src/storage/Storage.js"
import { checkStatus } from "../../src/tools/auth.js"
import { runTool } from "../../src/tools/Tool.js"
import { type FakeNextcloud, makeFakeNextcloud } from "../support/fakeNextcloud.js"

const alice = UserId.make("alice-local")

const servicesFor = (nc: FakeNextcloud) => {
  const storage = StorageLayers.layer({ filename: ":memory:", key: Redacted.make(new Uint8Array(randomBytes(32))) })
  const base = Layer.mergeAll(ScopeCache.layer(), ElicitationCompletions.layer, ProvisioningConfig.layer(), nc.layer).pipe(
    Layer.provideMerge(storage)
  )
  return Provisioning.layer.pipe(
    Layer.provideMerge(base),
    Layer.provideMerge(
      Layer.mergeAll(Layer.succeed(CurrentUser, { userId: alice, tokenScopes: null }), Elicitation.none, Progress.none)
    )
  )
}

type Services = Layer.Layer.Success<ReturnType<typeof servicesFor>>

/** Each test gets its own database and fake Nextcloud. */
const withServices = <A, E>(body: (nc: FakeNextcloud) => Effect.Effect<A, E, Services>) =>
  Effect.suspend(() => {
    const nc = makeFakeNextcloud()
    return body(nc).pipe(Effect.provide(servicesFor(nc)))
  })

/** The person's answer to the login prompt. */
const answering = (outcome: LoginUrlOutcome, elicitationId: string | null = null) =>
  Effect.provide(
    Layer.succeed(Elicitation, {
      presentLoginUrl: () => Effect.succeed({ outcome, elicitationId: outcome === "accepted" ? elicitationId : null })
    })
  )

const provision = (scopes: ReadonlyArray<Scope> | null) =>
  Effect.flatMap(Provisioning, (p) => p.provision(alice, scopes))

const loginUrlOf = (r: { readonly status: string }) => {
  if (!("loginUrl" in r) || typeof r.loginUrl !== "string") throw new Error(`no login URL in ${r.status}`)
  return r.loginUrl
}

const statusNow = Effect.flatMap(Provisioning, (p) => p.status(alice))

/** Provision `scopes` and complete the login; returns the app password. */
const provisioned = (nc: FakeNextcloud, scopes: ReadonlyArray<Scope> | null) =>
  Effect.gen(function* () {
    const started = yield* provision(scopes)
    const password = nc.grant(loginUrlOf(started))
    const done = yield* statusNow
    expect(done.status).toBe("provisioned")
    return password
  })

const storedGrant = Effect.flatMap(Storage, (s) => s.getGrant(alice))
const storedFlow = Effect.flatMap(Storage, (s) => s.getFlow(alice))


const updateScopes = (add: ReadonlyArray<Scope>, remove: ReadonlyArray<Scope>) =>
  Effect.flatMap(Provisioning, (p) => p.updateScopes(alice, add, remove))

describe("an elicitation accepted after its login completed", () => {
  it.effect("does not bring the flow back, and notifies the completion at once", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        const completions = yield* ElicitationCompletions
        let notified = 0
        yield* completions.register("e-1", Effect.sync(() => notified++))
        // The person approves in the browser and the login completes while the
        // prompt is still open; only then does the client answer "accept".
        const provisioning = yield* Provisioning
        const elicitation = Layer.succeed(Elicitation, {
          presentLoginUrl: ({ loginUrl }) =>
            Effect.gen(function* () {
              nc.grant(loginUrl)
              expect((yield* provisioning.status(alice)).status).toBe("provisioned")
              return { outcome: "accepted" as const, elicitationId: "e-1" }
            }).pipe(Effect.orDie)
        })
        const started = yield* provision(["notes.read"]).pipe(Effect.provide(elicitation))
        expect(started.status).toBe("pending")
        expect(Option.isNone(yield* storedFlow)).toBe(true)
        expect(Option.isSome(yield* storedGrant)).toBe(true)
        expect(notified).toBe(1)
        expect(yield* completions.size).toBe(0)
      })
    )
  )
})

describe("narrowing while a widening is pending", () => {
  it.effect("approving the widening does not bring back the removed scope", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        yield* provisioned(nc, ["notes.read", "notes.write"])
        const widening = yield* updateScopes(["files.read"], [])
        expect(widening.status).toBe("login_required")
        const narrowed = yield* updateScopes([], ["notes.write"])
        expect(narrowed).toMatchObject({ status: "updated", next: ["notes.read"] })
        nc.grant(loginUrlOf(widening))
        const done = yield* statusNow
        expect(done.status).toBe("provisioned")
        expect(done.status === "provisioned" && done.grant.scopes).toEqual(["files.read", "notes.read"])
      })
    )
  )
})

describe("check_status during a pending widening", () => {
  it.effect("shows the login URL and waits for it", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        yield* provisioned(nc, ["notes.read"])
        const widening = yield* updateScopes(["files.read"], [])
        const url = loginUrlOf(widening)
        const shown = yield* runTool(checkStatus, {})
        expect(shown.structuredContent).toMatchObject({ status: "provisioned", scopes: ["notes.read"], login_url: url })
        expect(String(shown.structuredContent?.["message"])).toContain(url)
        // wait_seconds waits for the pending widening too, and returns when it completes.
        const waiting = yield* Effect.fork(runTool(checkStatus, { wait_seconds: 60 }))
        yield* TestClock.adjust("2 seconds")
        nc.grant(url)
        yield* Effect.flatMap(Provisioning, (p) => p.pollFlow(alice))
        const after = yield* waiting.await
        expect(Exit.isSuccess(after)).toBe(true)
        if (Exit.isSuccess(after)) {
          expect(after.value.structuredContent).toMatchObject({ status: "provisioned", scopes: ["files.read", "notes.read"] })
          expect(after.value.structuredContent?.["login_url"]).toBeUndefined()
        }
      })
    )
  )
})

describe("a widening that cannot start", () => {
  it.effect("changes nothing, removals included, when the flow start is rate limited", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        yield* provisioned(nc, ["notes.read", "notes.write"])
        // Use up the starts: the first provisioning counted as one.
        for (let i = 0; i < 4; i++) yield* updateScopes([`files.${i % 2 === 0 ? "read" : "write"}` as Scope], [])
        const refused = yield* Effect.flip(updateScopes(["calendar.read"], ["notes.write"]))
        expect(refused._tag).toBe("RateLimited")
        expect(refused.message).toContain("http://")
        const grant = yield* storedGrant
        expect(Option.isSome(grant) && grant.value.scopes).toEqual(["notes.read", "notes.write"])
      })
    )
  )
})

describe("a 401 for a password that was already replaced", () => {
  it.effect("keeps the newer grant and asks to call again", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        yield* provisioned(nc, ["notes.read"])
        const old = yield* storedGrant
        const widening = yield* updateScopes(["files.read"], [])
        yield* TestClock.adjust("1 second")
        nc.grant(loginUrlOf(widening))
        expect((yield* statusNow).status).toBe("provisioned")
        if (Option.isNone(old)) throw new Error("no grant")
        const answer = yield* Effect.flip(Effect.flatMap(Provisioning, (p) => p.reportUnauthorized(old.value)))
        expect(answer._tag).toBe("NextcloudError")
        const current = yield* storedGrant
        expect(Option.isSome(current) && current.value.scopes).toEqual(["files.read", "notes.read"])
      })
    )
  )
})
