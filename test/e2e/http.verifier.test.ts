/**
 * TokenVerifier against a local issuer: discovery, key rotation, claims, and
 * the difference between a bad token and an unreachable issuer.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import * as TokenVerifier from "../../src/auth/TokenVerifier.js"
import { startIssuer } from "../support/issuer.js"

const AUDIENCE = "verifier-test"

const withIssuer = <A, E>(f: (issuer: Awaited<ReturnType<typeof startIssuer>>) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => startIssuer({ audience: () => AUDIENCE })),
    f,
    (issuer) => Effect.promise(() => issuer.close())
  )

const verifierFor = (config: Partial<TokenVerifier.TokenVerifierConfig> & { issuer: string }) =>
  TokenVerifier.make({ audience: AUDIENCE, jwksUrl: Option.none(), ...config }).pipe(Effect.provide(FetchHttpClient.layer))

const token = (t: Promise<string>) => Effect.map(Effect.promise(() => t), Redacted.make)

describe("TokenVerifier", () => {
  it.live("discovers the JWKS, maps sub and scopes, and keeps the token out of errors", () =>
    withIssuer((issuer) =>
      Effect.gen(function* () {
        const verifier = yield* verifierFor({ issuer: issuer.url })
        const ok = yield* verifier.verify(yield* token(issuer.token({ sub: "alice", scope: "openid notes:read files.write bogus" })))
        expect(ok).toMatchObject({ userId: "alice", scopes: ["files.write", "notes.read"], clientId: "alice" })
        expect(issuer.hits.get("/.well-known/openid-configuration")).toBe(1)
        const viaScp = yield* verifier.verify(yield* token(issuer.token({ sub: "bob", scp: ["calendar.read"], claims: { azp: "desktop" } })))
        expect(viaScp).toMatchObject({ userId: "bob", scopes: ["calendar.read"], clientId: "desktop" })
        // Discovery is done once.
        expect(issuer.hits.get("/.well-known/openid-configuration")).toBe(1)
        const raw = yield* Effect.promise(() => issuer.foreignToken())
        const error = yield* Effect.flip(verifier.verify(Redacted.make(raw)))
        expect(error._tag).toBe("TokenRejected")
        expect(JSON.stringify(error)).not.toContain(raw)
      })
    )
  )

  it.live("refetches the key set for a new kid (key rotation)", () =>
    withIssuer((issuer) =>
      Effect.gen(function* () {
        const verifier = yield* verifierFor({ issuer: issuer.url, jwksUrl: Option.some(new URL(issuer.jwksUrl)), keySetCooldownSeconds: 0 })
        yield* verifier.verify(yield* token(issuer.token()))
        yield* Effect.promise(() => issuer.rotate())
        const after = yield* verifier.verify(yield* token(issuer.token({ sub: "rotated" })))
        expect(after.userId).toBe("rotated")
        expect(issuer.hits.get("/jwks")).toBe(2)
        expect(issuer.hits.get("/.well-known/openid-configuration")).toBeUndefined()
      })
    )
  )

  it.live("requires sub and exp", () =>
    withIssuer((issuer) =>
      Effect.gen(function* () {
        const verifier = yield* verifierFor({ issuer: issuer.url })
        const noSub = yield* Effect.flip(verifier.verify(yield* token(issuer.token({ sub: "" }))))
        expect(noSub._tag).toBe("TokenRejected")
      })
    )
  )

  it.live("an unreachable issuer is IssuerUnavailable, not a rejected token, and is retried later", () =>
    Effect.gen(function* () {
      const issuer = yield* Effect.promise(() => startIssuer({ audience: () => AUDIENCE }))
      const t = yield* token(issuer.token())
      yield* Effect.promise(() => issuer.close())
      const verifier = yield* verifierFor({ issuer: issuer.url })
      const error = yield* Effect.flip(verifier.verify(t))
      expect(error._tag).toBe("IssuerUnavailable")
      const direct = yield* verifierFor({ issuer: issuer.url, jwksUrl: Option.some(new URL(issuer.jwksUrl)) })
      expect((yield* Effect.flip(direct.verify(t)))._tag).toBe("IssuerUnavailable")
    })
  )

  it.live("a discovery document for another issuer is refused", () =>
    withIssuer((issuer) =>
      Effect.gen(function* () {
        const verifier = yield* verifierFor({ issuer: `${issuer.url}/` })
        const error = yield* Effect.flip(verifier.verify(yield* token(issuer.token())))
        expect(error).toMatchObject({ _tag: "IssuerUnavailable" })
        expect((error as TokenVerifier.IssuerUnavailable).reason).toContain("names issuer")
      })
    )
  )
})
