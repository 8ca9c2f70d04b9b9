// Own file: TestClock drives the cooldown after an issuer failure.
/**
 * When the issuer cannot be reached, every waiting verification shares one
 * fetch, and the failure is remembered for a cooldown (1 s, doubling up to
 * 60 s, back to 1 s after a success) during which nothing is fetched and
 * callers are told when to retry.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Option, Redacted, TestClock } from "effect"
import * as TokenVerifier from "../../src/auth/TokenVerifier.js"
import { eventually } from "../support/eventually.js"
import { withIssuer } from "../support/issuer.js"

const AUDIENCE = "https://mcp.test/mcp"

/** Just past `d`: a remembered failure is served up to and including the moment its cooldown ends. */
const past = (d: Duration.DurationInput) => TestClock.adjust(Duration.sum(d, Duration.millis(1)))

describe("TokenVerifier cooldown after issuer failures", () => {
  it("the cooldown doubles from the first delay up to the maximum", () => {
    const cooldown = (failures: number) => TokenVerifier.failureCooldownMillis(failures, { initial: "1 second", max: "60 seconds" })
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50, 5000].map(cooldown)).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000
    ])
  })

  it.effect("concurrent callers share one fetch; a failure is remembered for a growing cooldown, reset by a success", () =>
    withIssuer(AUDIENCE, (issuer) =>
      Effect.gen(function* () {
        yield* TestClock.setTime(Date.now())
        const verifier = yield* TokenVerifier.make({
          issuer: issuer.url,
          audience: AUDIENCE,
          jwksUrl: Option.none(),
          keySetCooldownSeconds: 0,
          cacheSeconds: 0
        }).pipe(Effect.provide(FetchHttpClient.layer))
        const token = Redacted.make(yield* Effect.promise(() => issuer.token()))
        const failure = Effect.flip(verifier.verify(token))

        // Six callers wait on one discovery that is held back and then fails.
        issuer.fault("discovery", "fail")
        const release = issuer.hold("discovery")
        const waiting = yield* Effect.forkAll(Array.from({ length: 6 }, () => failure))
        expect(yield* Effect.promise(() => eventually(() => issuer.fetches("discovery") === 1))).toBe(true)
        release()
        const errors = yield* Fiber.join(waiting)
        expect(errors.map((e) => e._tag)).toEqual(Array(6).fill("IssuerUnavailable"))
        expect(issuer.fetches("discovery")).toBe(1)
        const failedAt = yield* Clock.currentTimeMillis
        expect(errors[0]).toMatchObject({ retryAt: failedAt + 1_000 })

        // Within the cooldown: answered at once, nothing fetched.
        const early = yield* failure
        expect(early).toMatchObject({ _tag: "IssuerUnavailable", retryAt: failedAt + 1_000 })
        expect(issuer.fetches("discovery")).toBe(1)

        // Past it: one more try, which fails, so the next cooldown is 2 s.
        yield* past("1 second")
        expect(yield* failure).toMatchObject({ retryAt: failedAt + 1 + 3_000 })
        expect(issuer.fetches("discovery")).toBe(2)
        yield* TestClock.adjust("1 second")
        yield* failure
        expect(issuer.fetches("discovery")).toBe(2)
        yield* past("1 second")
        yield* failure
        expect(issuer.fetches("discovery")).toBe(3)

        // The issuer is back: after the cooldown (4 s now) tokens verify again.
        issuer.fault("discovery", "ok")
        yield* TestClock.adjust("3 seconds")
        yield* failure
        yield* past("1 second")
        expect((yield* verifier.verify(token)).userId).toBe("alice")
        expect(issuer.fetches("discovery")).toBe(4)

        // A later failure (the key set, on a key rotation) starts again at 1 s.
        issuer.fault("jwks", "fail")
        yield* Effect.promise(() => issuer.rotate())
        const rotated = Redacted.make(yield* Effect.promise(() => issuer.token({ sub: "rotated" })))
        const rotatedFailure = Effect.flip(verifier.verify(rotated))
        expect((yield* rotatedFailure)._tag).toBe("IssuerUnavailable")
        const refetched = yield* rotatedFailure
        const jwksFetches = issuer.fetches("jwks")
        expect(refetched).toMatchObject({ _tag: "IssuerUnavailable", retryAt: (yield* Clock.currentTimeMillis) + 1_000 })
        yield* rotatedFailure
        expect(issuer.fetches("jwks")).toBe(jwksFetches)
        issuer.fault("jwks", "ok")
        yield* past("1 second")
        expect((yield* verifier.verify(rotated)).userId).toBe("rotated")
      })
    ),
    20_000
  )
})
