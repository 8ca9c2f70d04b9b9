/**
 * The simulator as an OpenID issuer for http mode: discovery names its own
 * URL, the JWKS verifies the tokens it mints (checked with the server's real
 * TokenVerifier), the hook refuses unknown users, and the HTTP hook mints the
 * same tokens for another process.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import * as TokenVerifier from "../../src/auth/TokenVerifier.js"
import * as Simulator from "../../src/simulator/index.js"

describe("simulator OpenID issuer", () => {
  it.scopedLive("discovery names the simulator's URL; minted tokens verify with the server's verifier", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({})
      const discovery = yield* Effect.promise(() =>
        fetch(`${sim.url}/.well-known/openid-configuration`).then((r) => r.json() as Promise<Record<string, unknown>>)
      )
      expect(discovery).toMatchObject({ issuer: sim.url, jwks_uri: `${sim.url}/oidc/jwks` })

      const audience = "http://127.0.0.1:8000/mcp"
      const minted = yield* sim.mintToken({ sub: "alice", scope: ["notes.read", "notes.write"] })
      expect(minted).toMatchObject({ token_type: "Bearer", issuer: sim.url, audience, sub: "alice", scope: "notes.read notes.write" })

      const verifier = yield* TokenVerifier.make({ issuer: sim.url, audience, jwksUrl: Option.none() }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const verified = yield* verifier.verify(Redacted.make(minted.access_token))
      expect(verified).toMatchObject({ userId: "alice", scopes: ["notes.read", "notes.write"] })

      const other = yield* sim.mintToken({ sub: "alice", audience: "https://elsewhere.example/mcp" })
      expect((yield* Effect.flip(verifier.verify(Redacted.make(other.access_token))))._tag).toBe("TokenRejected")

      const unknown = yield* Effect.flip(sim.mintToken({ sub: "mallory" }))
      expect(unknown).toMatchObject({ reason: "UnknownUser" })
    }))

  it.scopedLive("the /__sim/oidc/token hook mints for another process", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({})
      const remote = Simulator.connectSimulator(sim.url)
      const minted = yield* Effect.promise(() => remote.mintToken({ scope: "files.read" }))
      expect(minted).toMatchObject({ sub: "alice", scope: "files.read", issuer: sim.url })
      const refused = yield* Effect.promise(() => remote.mintToken({ sub: "mallory" }).then(() => null, (e: unknown) => e))
      expect(refused).toMatchObject({ reason: "UnknownUser" })
    }))
})
