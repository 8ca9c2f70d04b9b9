/**
 * The Provisioning service over real (in-memory, encrypted) SQLite storage and
 * a scripted Nextcloud, for unit tests under TestClock: one database and fake
 * Nextcloud per test, the person's answer to the login prompt, and shortcuts.
 */
import { randomBytes } from "node:crypto"
import { expect } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { CurrentUser } from "../../src/auth/CurrentUser.js"
import { Elicitation, ElicitationCompletions, type LoginUrlOutcome } from "../../src/auth/Elicitation.js"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { UserId } from "../../src/domain/Ids.js"
import type { Scope } from "../../src/domain/Scope.js"
import { Progress } from "../../src/tools/Progress.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import { ProvisioningConfig } from "../../src/provisioning/ProvisioningConfig.js"
import * as StorageLayers from "../../src/storage/layer.js"
import { Storage } from "../../src/storage/Storage.js"
import { type FakeNextcloud, makeFakeNextcloud } from "./fakeNextcloud.js"

export const alice = UserId.make("alice-local")

export const servicesFor = (nc: FakeNextcloud) => {
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

export type Services = Layer.Layer.Success<ReturnType<typeof servicesFor>>

/** Each test gets its own database and fake Nextcloud. */
export const withServices = <A, E>(body: (nc: FakeNextcloud) => Effect.Effect<A, E, Services>) =>
  Effect.suspend(() => {
    const nc = makeFakeNextcloud()
    return body(nc).pipe(Effect.provide(servicesFor(nc)))
  })

/** The person's answer to the login prompt. */
export const answering = (outcome: LoginUrlOutcome, elicitationId: string | null = null) =>
  Effect.provide(
    Layer.succeed(Elicitation, {
      presentLoginUrl: () => Effect.succeed({ outcome, elicitationId: outcome === "accepted" ? elicitationId : null })
    })
  )

export const provision = (scopes: ReadonlyArray<Scope> | null) =>
  Effect.flatMap(Provisioning, (p) => p.provision(alice, scopes))

export const loginUrlOf = (r: { readonly status: string }) => {
  if (!("loginUrl" in r) || typeof r.loginUrl !== "string") throw new Error(`no login URL in ${r.status}`)
  return r.loginUrl
}

export const statusNow = Effect.flatMap(Provisioning, (p) => p.status(alice))

/** Provision `scopes` and complete the login; returns the app password. */
export const provisioned = (nc: FakeNextcloud, scopes: ReadonlyArray<Scope> | null) =>
  Effect.gen(function* () {
    const started = yield* provision(scopes)
    const password = nc.grant(loginUrlOf(started))
    const done = yield* statusNow
    expect(done.status).toBe("provisioned")
    return password
  })

export const storedGrant = Effect.flatMap(Storage, (s) => s.getGrant(alice))
export const storedFlow = Effect.flatMap(Storage, (s) => s.getFlow(alice))
