// Own file: TestClock drives the verification cache's expiry.
/**
 * A verified token is remembered for a while (clients send the same token on
 * every request), but a remembered verification never outlives the token's
 * `exp`: past it, the token is checked again and refused.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted, TestClock } from "effect"
import * as TokenVerifier from "../../src/auth/TokenVerifier.js"
import { startIssuer } from "../support/issuer.js"

const AUDIENCE = "https://mcp.test/mcp"

describe("TokenVerifier cache", () => {
  it.effect("a cached verification is not served past the token's exp", () =>
    Effect.acquireUseRelease(
      Effect.promise(() => startIssuer({ audience: () => AUDIENCE })),
      (issuer) =>
        Effect.gen(function* () {
          yield* TestClock.setTime(Date.now())
          // Cached for up to 5 minutes — far longer than the token lives.
          const verifier = yield* TokenVerifier.make({
            issuer: issuer.url,
            audience: AUDIENCE,
            jwksUrl: Option.none(),
            cacheSeconds: 300
          }).pipe(Effect.provide(FetchHttpClient.layer))
          const token = Redacted.make(yield* Effect.promise(() => issuer.token({ sub: "alice", expiresIn: 30 })))
          expect((yield* verifier.verify(token)).userId).toBe("alice")
          yield* TestClock.adjust("20 seconds")
          expect((yield* verifier.verify(token)).userId).toBe("alice")
          // 30 s + the 60 s leeway have passed: refused, not answered from the cache.
          yield* TestClock.adjust("75 seconds")
          const refused = yield* Effect.flip(verifier.verify(token))
          expect(refused._tag).toBe("TokenRejected")
          expect(refused.reason).toMatch(/expired/)
        }),
      (issuer) => Effect.promise(() => issuer.close())
    )
  )
})
