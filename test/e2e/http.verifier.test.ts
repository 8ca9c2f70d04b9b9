/**
 * TokenVerifier against a local issuer: discovery, key rotation, claims, the
 * difference between a bad token and an unreachable issuer, and an issuer
 * that hangs or sends too much.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import * as TokenVerifier from "../../src/auth/TokenVerifier.js"
import { startIssuer, type TestIssuer, withIssuer as withAnIssuer } from "../support/issuer.js"

const AUDIENCE = "verifier-test"

const withIssuer = <A, E>(f: (issuer: TestIssuer) => Effect.Effect<A, E>) => withAnIssuer(AUDIENCE, f)

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

  it.live("a string that is not a JWT is refused without asking the issuer", () =>
    withIssuer((issuer) =>
      Effect.gen(function* () {
        issuer.fault("discovery", "fail")
        const verifier = yield* verifierFor({ issuer: issuer.url })
        const header = (h: unknown) => Buffer.from(JSON.stringify(h)).toString("base64url")
        const notJwts = [
          "garbage",
          "not.a.jwt",
          "a.b",
          `${header({ alg: "ES256" })}.e30`,
          `${header({ typ: "JWT" })}.e30.c2ln`,
          `${header("ES256")}.e30.c2ln`,
          `${Buffer.from("{not json").toString("base64url")}.e30.c2ln`,
          `${header({ alg: "ES256" })}.e30.c2ln.x.y`,
          `${header({ alg: "ES256" })}.e30.sig+with/slash`
        ]
        for (const raw of notJwts) {
          const error = yield* Effect.flip(verifier.verify(Redacted.make(raw)))
          expect(error._tag, raw).toBe("TokenRejected")
        }
        expect(issuer.fetches("discovery")).toBe(0)
      })
    )
  )

  it.live("a discovery or key set that never answers fails after the issuer timeout, even for an uninterruptible caller", () =>
    withIssuer((issuer) =>
      Effect.gen(function* () {
        const t = yield* token(issuer.token())
        issuer.fault("discovery", "hang")
        const discovering = yield* verifierFor({ issuer: issuer.url, issuerTimeout: "300 millis" })
        expect((yield* Effect.flip(Effect.uninterruptible(discovering.verify(t))))._tag).toBe("IssuerUnavailable")
        issuer.fault("jwks", "hang")
        const direct = yield* verifierFor({ issuer: issuer.url, jwksUrl: Option.some(new URL(issuer.jwksUrl)), issuerTimeout: "300 millis" })
        expect((yield* Effect.flip(Effect.uninterruptible(direct.verify(t))))._tag).toBe("IssuerUnavailable")
      })
    ),
    15_000
  )

  it.live("an endless discovery document or key set is cut off at the size cap", () =>
    withIssuer((issuer) =>
      Effect.gen(function* () {
        const t = yield* token(issuer.token())
        const cap = 64 * 1024
        issuer.fault("discovery", "huge")
        const discovering = yield* verifierFor({ issuer: issuer.url, maxResponseBytes: cap })
        const error = yield* Effect.flip(discovering.verify(t))
        expect(error._tag).toBe("IssuerUnavailable")
        expect(JSON.stringify(error)).not.toContain("aaaaaaaa")
        issuer.fault("jwks", "huge")
        const direct = yield* verifierFor({ issuer: issuer.url, jwksUrl: Option.some(new URL(issuer.jwksUrl)), maxResponseBytes: cap })
        expect((yield* Effect.flip(direct.verify(t)))._tag).toBe("IssuerUnavailable")
        // What got out before the reader stopped is the cap plus socket buffers, not the endless document.
        expect(issuer.bytesSent("discovery")).toBeLessThan(24 * 1024 * 1024)
        expect(issuer.bytesSent("jwks")).toBeLessThan(24 * 1024 * 1024)
        // Within the cap everything works.
        issuer.fault("jwks", "ok")
        const fine = yield* verifierFor({ issuer: issuer.url, jwksUrl: Option.some(new URL(issuer.jwksUrl)), maxResponseBytes: cap })
        expect((yield* fine.verify(t)).userId).toBe("alice")
      })
    ),
    30_000
  )
})
