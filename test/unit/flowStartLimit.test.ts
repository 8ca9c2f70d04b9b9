/**
 * The flow-start limit as a person meets it: the refusal says how long to
 * wait in words (minutes, seconds only under a minute) and names the variable
 * that sets the limit; only a login whose link could be shown counts, so
 * showing a pending login again or failing to reach Nextcloud costs nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, type Scope, TestClock } from "effect"
import { NextcloudTransportError } from "../../src/nextcloud/errors.js"
import { formatWait } from "../../src/provisioning/flowRules.js"
import type { ProvisioningConfigShape } from "../../src/provisioning/ProvisioningConfig.js"
import { checkStatus, provisionAccess, updateScopes } from "../../src/tools/auth.js"
import type * as Tool from "../../src/tools/Tool.js"
import { type FakeNextcloud, HOST, lifecycleLayer, makeFakeNextcloud, memoryStorage, requestLayer } from "../support/lifecycle.js"

type Services = Layer.Layer.Success<ReturnType<typeof lifecycleLayer>> | Scope.Scope

const run = <A, E>(fake: FakeNextcloud, body: Effect.Effect<A, E, Services>, config: Partial<ProvisioningConfigShape> = {}) =>
  body.pipe(Effect.scoped, Effect.provide(lifecycleLayer(fake, config, memoryStorage())))

const call = <I, O, R>(tool: Tool.OpenTool<I, O, R>, input: I) =>
  tool.handler(input, { tool: tool.name }).pipe(Effect.provide(requestLayer()))

/** A fake Nextcloud whose flow start fails as unreachable while `down.now` is true. */
const withOutage = (fake: FakeNextcloud) => {
  const down = { now: false }
  const initiate = Effect.suspend(() =>
    down.now
      ? Effect.fail(new NextcloudTransportError({ operation: "initiate", reason: "unreachable", cause: null }))
      : fake.loginFlow.initiate
  )
  return { fake: { ...fake, loginFlow: { ...fake.loginFlow, initiate } }, down }
}

const messageOf = (error: unknown) => (error as { readonly message: string }).message

describe("how long to wait", () => {
  it("seconds under a minute, whole minutes (rounded up) from a minute on", () => {
    expect([1, 2, 59, 60, 61, 120, 121, 600, 3595, 3600].map(formatWait)).toEqual([
      "1 second",
      "2 seconds",
      "59 seconds",
      "1 minute",
      "2 minutes",
      "2 minutes",
      "3 minutes",
      "10 minutes",
      "60 minutes",
      "60 minutes"
    ])
  })
})

describe("the refusal", () => {
  it.effect("says minutes and names NC_MCP_FLOW_START_LIMIT", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        expect((yield* call(provisionAccess, { scopes: ["notes.read"] })).status).toBe("login_required")
        yield* TestClock.adjust("5 seconds")
        const refused = yield* Effect.flip(call(provisionAccess, { scopes: ["files.read"] }))
        expect(refused).toMatchObject({ _tag: "RateLimited", retry_after_seconds: 3595 })
        expect(messageOf(refused)).toContain("Try again in 60 minutes")
        expect(messageOf(refused)).toContain("NC_MCP_FLOW_START_LIMIT")
        expect(messageOf(refused)).not.toContain("seconds")
        // The pending login can still be finished instead.
        expect(messageOf(refused)).toContain(`${HOST}/login/v2/flow/login-0`)

        // Past the login's 20 minutes there is nothing left to finish.
        yield* TestClock.adjust("3535 seconds")
        expect(messageOf(yield* Effect.flip(call(provisionAccess, { scopes: ["files.read"] })))).toContain("Try again in 1 minute.")
        yield* TestClock.adjust("30 seconds")
        expect(messageOf(yield* Effect.flip(call(provisionAccess, { scopes: ["files.read"] })))).toContain("Try again in 30 seconds.")
      }),
      { flowStartLimit: 1 }
    )
  })
})

describe("what counts as a start", () => {
  it.effect("a start that failed because Nextcloud was unreachable does not count", () => {
    const { fake, down } = withOutage(makeFakeNextcloud())
    return run(
      fake,
      Effect.gen(function* () {
        down.now = true
        for (let i = 0; i < 3; i++) {
          expect(yield* Effect.flip(call(provisionAccess, { scopes: ["notes.read"] }))).toMatchObject({ _tag: "NextcloudUnreachable" })
        }
        down.now = false
        expect((yield* call(provisionAccess, { scopes: ["notes.read"] })).status).toBe("login_required")
        expect((yield* call(provisionAccess, { scopes: ["files.read"] })).status).toBe("login_required")
      }),
      { flowStartLimit: 2 }
    )
  })

  it.effect("asking again for the same added scopes shows the pending login again and does not count", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* call(provisionAccess, { scopes: ["notes.read"] })
        fake.script(-1, { completed: "pw-1" })
        expect((yield* call(checkStatus, {})).status).toBe("provisioned")

        const first = yield* call(updateScopes, { add_scopes: ["files.read"] })
        const again = yield* call(updateScopes, { add_scopes: ["files.read"] })
        expect(again.status).toBe("login_required")
        expect(again.login_url).toBe(first.login_url)
        expect(fake.tokens).toHaveLength(2)
        // Two starts so far (provision, one widening): a different widening is the third.
        expect((yield* call(updateScopes, { add_scopes: ["files.write"] })).status).toBe("login_required")
        expect(fake.tokens).toHaveLength(3)
      }),
      { flowStartLimit: 3 }
    )
  })
})
