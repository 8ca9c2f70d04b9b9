import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { logfmtLogger } from "../../src/log/logfmt.js"

const capture = <A, E>(effect: Effect.Effect<A, E>) => {
  const lines: Array<string> = []
  const logger = Logger.map(logfmtLogger, (line) => {
    lines.push(line)
  })
  return effect.pipe(
    Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
    Effect.as(lines)
  )
}

describe("logfmt lines", () => {
  it.effect("message, object fields and annotations as key=value on one line", () =>
    Effect.gen(function* () {
      const lines = yield* capture(
        Effect.logInfo("login flow started", { user: "alice@example.org", purpose: "provision", n: 3 }).pipe(
          Effect.annotateLogs({ tool: "nc_auth_provision_access" })
        )
      )
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(
        /^time=\S+ level=INFO msg="login flow started" user=alice@example.org purpose=provision n=3 tool=nc_auth_provision_access$/
      )
    })
  )

  it.effect("values with spaces, quotes or newlines are quoted and stay on one line", () =>
    Effect.gen(function* () {
      const lines = yield* capture(
        Effect.logWarning("poll failed", { detail: 'bad "json"\nnext line', nested: { a: [1, 2] } })
      )
      expect(lines).toHaveLength(1)
      expect(lines[0]).not.toContain("\n")
      expect(lines[0]).toContain('detail="bad \\"json\\"\\nnext line"')
      expect(lines[0]).toContain("level=WARN")
      expect(lines[0]).toMatch(/nested="\{/)
    })
  )

  it.effect("a cause is rendered once, on the same line", () =>
    Effect.gen(function* () {
      const withCause = yield* capture(
        Effect.fail(new Error("kaput")).pipe(
          Effect.tapErrorCause((cause) => Effect.logError("sweep failed", cause)),
          Effect.ignore
        )
      )
      expect(withCause).toHaveLength(1)
      expect(withCause[0]).toMatch(/msg="sweep failed" cause=".*kaput.*"$/)
      expect(withCause[0]).not.toContain("\n")
    })
  )

  it.effect("a field the call gives is not repeated by the same annotation", () =>
    Effect.gen(function* () {
      const lines = yield* capture(
        Effect.logInfo("login flow started", { user: "dave", purpose: "provision" }).pipe(
          Effect.annotateLogs({ user: "dave", tool: "nc_auth_provision_access" })
        )
      )
      expect(lines[0]?.match(/user=/g)).toHaveLength(1)
      expect(lines[0]).toContain("tool=nc_auth_provision_access")
    })
  )
})
