/**
 * What `nextcloud-mcp http` catches at startup instead of on every request:
 * an issuer URL whose discovery document names another issuer (a trailing
 * slash), and a wildcard listen address without NC_MCP_PUBLIC_URL. The
 * simulated Nextcloud serves as the issuer.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Option } from "effect"
import { checkIssuer, warnIfNoPublicUrl } from "../../src/commands/httpChecks.js"
import * as Simulator from "../../src/simulator/index.js"

/** Runs `effect`, returning what it logged. */
const logged = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
    })
    const result = yield* Effect.either(effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger))))
    return { result, lines }
  })

describe("http startup checks", () => {
  it.scopedLive("an issuer URL with a trailing slash its discovery does not name: a clear error naming both", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({})
      const { result } = yield* logged(checkIssuer({ issuer: `${sim.url}/`, jwksUrl: Option.none() }))
      expect(result._tag).toBe("Left")
      if (result._tag === "Left") {
        expect(result.left.message).toBe(
          `NC_MCP_OIDC_ISSUER is ${sim.url}/, but the issuer's discovery document (${sim.url}/.well-known/openid-configuration) names ${sim.url}. ` +
            `Tokens carry ${sim.url} in iss, compared verbatim: set NC_MCP_OIDC_ISSUER=${sim.url} (a trailing slash counts).`
        )
      }
      const exact = yield* logged(checkIssuer({ issuer: sim.url, jwksUrl: Option.none() }))
      expect(exact.result._tag).toBe("Right")
      expect(exact.lines).toEqual([])
    }))

  it.scopedLive("an issuer that cannot be reached yet is a warning, not a failure", () =>
    Effect.gen(function* () {
      const { result, lines } = yield* logged(checkIssuer({ issuer: "http://127.0.0.1:1", jwksUrl: Option.none() }))
      expect(result._tag).toBe("Right")
      expect(lines.join("\n")).toContain(
        "WARN the issuer's discovery document at http://127.0.0.1:1/.well-known/openid-configuration could not be read (could not be reached"
      )
    }))

  it.effect("--host 0.0.0.0 without NC_MCP_PUBLIC_URL: a warning saying what resource and aud will be", () =>
    Effect.gen(function* () {
      const { lines } = yield* logged(warnIfNoPublicUrl("0.0.0.0", 8000, { publicUrl: Option.none(), audience: Option.none() }))
      expect(lines).toEqual([
        "WARN --host 0.0.0.0 without NC_MCP_PUBLIC_URL: the resource will be http://0.0.0.0:8000/mcp and tokens must carry aud http://0.0.0.0:8000/mcp; " +
          "no client reaches this server at 0.0.0.0. Set NC_MCP_PUBLIC_URL to the URL clients use (for example https://mcp.example.com)."
      ])
      const quiet = yield* logged(
        warnIfNoPublicUrl("0.0.0.0", 8000, { publicUrl: Option.some(new URL("https://mcp.example.com")), audience: Option.none() })
      )
      expect(quiet.lines).toEqual([])
      expect((yield* logged(warnIfNoPublicUrl("127.0.0.1", 8000, { publicUrl: Option.none(), audience: Option.none() }))).lines).toEqual([])
    }))
})
