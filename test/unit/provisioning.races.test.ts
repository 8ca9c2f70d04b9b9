// Own file: TestClock.
/**
 * Races and corner cases of the Provisioning service: an elicitation answered
 * after its login completed, narrowing while a widening is pending, a pending
 * widening seen by check_status, a rate-limited widening, a 401 for a
 * password that was already replaced.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, TestClock } from "effect"
import { Elicitation, ElicitationCompletions } from "../../src/auth/Elicitation.js"
import type { Scope } from "../../src/domain/Scope.js"
import { LoginFlows } from "../../src/provisioning/LoginFlows.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import { checkStatus } from "../../src/tools/auth.js"
import { runTool } from "../../src/tools/run.js"
import {
  alice,
  withServices,
  provision,
  loginUrlOf,
  statusNow,
  provisioned,
  storedGrant,
  storedFlow
} from "../support/provisioningHarness.js"

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
        yield* Effect.flatMap(LoginFlows, (flows) => flows.poll(alice))
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
