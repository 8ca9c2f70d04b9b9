/**
 * The adapter, `runTool` (decode → scope check → handler → generic answers to
 * Nextcloud failures → encode), and the JSON Schemas tools declare: bad
 * arguments become error results, app tools get the caller's grant only when
 * it covers their scopes, `success` is the adapter's, defects become a
 * generic internal error, interruption propagates, and every output the
 * Schema accepts passes the generated JSON Schema under the SDK's own
 * validator.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Logger, Option, Redacted, Schema } from "effect"
import { CurrentUser } from "../../src/auth/CurrentUser.js"
import { Elicitation } from "../../src/auth/Elicitation.js"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import {
  InsufficientScope,
  NotFound,
  ProvisioningRequired,
  RateLimited,
  type ToolError
} from "../../src/domain/Errors.js"
import { UserId } from "../../src/domain/Ids.js"
import type { Scope } from "../../src/domain/Scope.js"
import {
  NextcloudLocked,
  NextcloudNotFound,
  NextcloudTransportError,
  NextcloudUnauthorized
} from "../../src/nextcloud/errors.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import type { Grant } from "../../src/storage/Storage.js"
import { checkStatus, provisionAccess, revokeAccess, updateScopes } from "../../src/tools/auth.js"
import { toolJsonSchema } from "../../src/tools/jsonSchema.js"
import { Progress } from "../../src/tools/Progress.js"
import { allTools } from "../../src/apps/registry.js"
import { type NextcloudFailure, whileTrying } from "../../src/tools/nextcloudFailures.js"
import { runTool } from "../../src/tools/run.js"
import * as Tool from "../../src/tools/Tool.js"
import { unreachable } from "../support/fakes.js"

const services = Layer.mergeAll(
  Layer.succeed(CurrentUser, { userId: UserId.make("alice"), tokenScopes: null }),
  Elicitation.none,
  Progress.none,
  // Provisioning must not be reached by calls whose arguments are refused.
  unreachable(Provisioning, "Provisioning")
)

/** Runs a tool call; the Exit must be a success (runTool never fails or dies). */
const call = (tool: Tool.AnyTool, args: unknown) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(runTool(tool, args).pipe(Effect.provide(services)))
    if (Exit.isFailure(exit)) throw new Error(`runTool did not answer: ${Cause.pretty(exit.cause)}`)
    const result = exit.value
    const structured = result.structuredContent as Record<string, unknown>
    // The text content is the same JSON.
    const first = result.content[0]
    expect(first?.type === "text" && JSON.parse(first.text)).toEqual(structured)
    return { result, structured, text: first?.type === "text" ? first.text : "" }
  })

const expectError = (r: { readonly result: CallToolResult; readonly structured: Record<string, unknown> }, code: string) => {
  expect(r.result.isError).toBe(true)
  expect(r.structured).toMatchObject({ success: false, error_code: code })
  expect(typeof r.structured["message"]).toBe("string")
}

const huge = "x".repeat(1_000_000)

/** A value nested `depth` levels deep: arrays or objects. */
const nested = (depth: number, kind: "array" | "object"): unknown => {
  let value: unknown = "x"
  for (let i = 0; i < depth; i++) value = kind === "array" ? [value] : { a: value }
  return value
}

describe("bad arguments become error results", () => {
  const cases: ReadonlyArray<readonly [string, Tool.AnyTool, unknown]> = [
    ["scopes is a string", provisionAccess, { scopes: "notes.read" }],
    ["scopes holds a number", provisionAccess, { scopes: [1] }],
    ["scopes is null", provisionAccess, { scopes: null }],
    ["scopes is an object", provisionAccess, { scopes: { 0: "notes.read" } }],
    ["an extra property", provisionAccess, { scopes: ["notes.read"], admin: true }],
    ["10,000 scopes", provisionAccess, { scopes: Array.from({ length: 10_000 }, () => "notes.read") }],
    ["10,000 long unknown scopes", provisionAccess, { scopes: Array.from({ length: 10_000 }, (_, i) => `${i}`.padEnd(1000, "y")) }],
    ["a 1 MB scope", provisionAccess, { scopes: [huge] }],
    ["a 1 MB property name", provisionAccess, { [huge]: 1 }],
    ["arguments are an array", provisionAccess, ["notes.read"]],
    ["arguments are a string", provisionAccess, "scopes=notes.read"],
    ["wait_seconds is a string", checkStatus, { wait_seconds: "5" }],
    ["wait_seconds is 500", checkStatus, { wait_seconds: 500 }],
    ["wait_seconds is negative", checkStatus, { wait_seconds: -1 }],
    ["wait_seconds is NaN", checkStatus, { wait_seconds: Number.NaN }],
    ["wait_seconds is Infinity", checkStatus, { wait_seconds: Number.POSITIVE_INFINITY }],
    ["add_scopes of the wrong type", updateScopes, { add_scopes: [true] }],
    ["remove_scopes is a string", updateScopes, { remove_scopes: "notes.read" }],
    ["revoke with an argument", revokeAccess, { everything: true }],
    ["scopes nested 10,000 arrays deep", provisionAccess, { scopes: nested(10_000, "array") }],
    ["an extra property nested 10,000 objects deep", provisionAccess, { deep: nested(10_000, "object") }],
    ["wait_seconds nested 100,000 objects deep", checkStatus, { wait_seconds: nested(100_000, "object") }],
    ["arguments nested 10,000 arrays deep", revokeAccess, nested(10_000, "array")]
  ]
  for (const [name, tool, args] of cases) {
    it.effect(`${tool.name}: ${name} → InvalidArguments`, () =>
      Effect.gen(function* () {
        const r = yield* call(tool, args)
        expectError(r, "InvalidArguments")
        expect(r.structured["status"]).toBe("error")
        // Bounded: a huge argument is not echoed back whole.
        expect(r.text.length).toBeLessThan(10_000)
      })
    )
  }

  it.effect("an unknown scope → InvalidScopes naming it", () =>
    Effect.gen(function* () {
      const r = yield* call(provisionAccess, { scopes: ["notes.read", "mail.read", "notes:delete"] })
      expectError(r, "InvalidScopes")
      expect(r.structured["invalid_scopes"]).toEqual(["mail.read", "notes:delete"])
      expect(r.structured["message"]).toContain("notes.read")
    })
  )

  it.effect("an empty scope list → InvalidScopes", () =>
    Effect.gen(function* () {
      expectError(yield* call(provisionAccess, { scopes: [] }), "InvalidScopes")
    })
  )

  it.effect("only identity scopes → InvalidScopes", () =>
    Effect.gen(function* () {
      expectError(yield* call(provisionAccess, { scopes: ["openid", "email"] }), "InvalidScopes")
    })
  )

  it.effect("update_scopes without changes → InvalidArguments; with unknown scopes → InvalidScopes", () =>
    Effect.gen(function* () {
      expectError(yield* call(updateScopes, {}), "InvalidArguments")
      expectError(yield* call(updateScopes, { add_scopes: [], remove_scopes: [] }), "InvalidArguments")
      const r = yield* call(updateScopes, { remove_scopes: ["calendar.delete"] })
      expectError(r, "InvalidScopes")
      expect(r.structured["invalid_scopes"]).toEqual(["calendar.delete"])
    })
  )

  it.effect("missing arguments (undefined or null) mean {}", () =>
    Effect.gen(function* () {
      // Decoding passes, so the handler runs and reaches the (unreachable) Provisioning: an internal error, not a crash.
      expectError(yield* call(revokeAccess, undefined), "InternalError")
      expectError(yield* call(revokeAccess, null), "InternalError")
    })
  )
})

describe("defects and interruption", () => {
  const Out = Tool.response(["ok", "error"], { value: Schema.optional(Schema.Number) })
  const secret = "defect-detail-7f3a: app password hunter2"

  const tool = (handler: Effect.Effect<Tool.Reply<typeof Out.Type>>): Tool.AnyTool<never> =>
    Tool.open({
      name: "test_tool",
      title: "Test",
      description: "A tool for tests",
      annotations: {},
      input: Schema.Struct({}),
      output: Out,
      handler: () => handler
    })

  /** Runs with a logger that keeps every message and cause as text. */
  const withLogs = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      const logger = Logger.make(({ cause, message }) => {
        lines.push(`${String(message)} ${Cause.pretty(cause)}`)
      })
      const a = yield* effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      return [a, lines.join("\n")] as const
    })

  it.effect("a defect in the handler → InternalError without its details; the details are logged", () =>
    Effect.gen(function* () {
      const [r, logs] = yield* withLogs(call(tool(Effect.die(new Error(secret))), {}))
      expectError(r, "InternalError")
      expect(r.text).not.toContain("defect-detail")
      expect(r.text).not.toContain("hunter2")
      expect(logs).toContain("defect-detail-7f3a")
    })
  )

  it.effect("a thrown exception inside the handler → InternalError", () =>
    Effect.gen(function* () {
      const r = yield* call(
        tool(
          Effect.sync(() => {
            throw new TypeError(secret)
          })
        ),
        {}
      )
      expectError(r, "InternalError")
      expect(r.text).not.toContain("hunter2")
    })
  )

  it.effect("an output the Schema rejects is a defect too, not an invalid structuredContent", () =>
    Effect.gen(function* () {
      const bad = { status: "nonsense", message: secret } as unknown as Tool.Reply<typeof Out.Type>
      const r = yield* call(tool(Effect.succeed(bad)), {})
      expectError(r, "InternalError")
      expect(r.text).not.toContain("hunter2")
    })
  )

  it.effect("a valid output is returned as structuredContent and text, with the adapter's success: true", () =>
    Effect.gen(function* () {
      const r = yield* call(tool(Effect.succeed({ status: "ok", message: "fine", value: 3 } as const)), {})
      expect(r.result.isError).toBeUndefined()
      expect(r.structured).toEqual({ status: "ok", success: true, message: "fine", value: 3 })
    })
  )

  it.effect("interrupting the call interrupts the handler and propagates", () =>
    Effect.gen(function* () {
      let finalized = false
      const started = yield* Effect.makeLatch()
      const handler = started.open.pipe(
        Effect.zipRight(Effect.never),
        Effect.onInterrupt(() => Effect.sync(() => void (finalized = true)))
      )
      const fiber = yield* Effect.fork(runTool(tool(handler), {}))
      yield* started.await
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(finalized).toBe(true)
    })
  )

  it.effect("a handler interrupting itself is not turned into a result", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(runTool(tool(Effect.interrupt), {}))
      expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true)
    })
  )

  it.effect("tagged errors keep their extra fields and use the tool's status", () =>
    Effect.gen(function* () {
      const failing = (error: ToolError) =>
        Tool.open({
          name: "test_errors",
          title: "Test",
          description: "A tool for tests",
          annotations: {},
          input: Schema.Struct({}),
          output: Out,
          errorStatus: (e) => (e._tag === "RateLimited" ? "ok" : "error"),
          handler: () => Effect.fail(error)
        })
      const limited = yield* call(failing(new RateLimited({ message: "slow down", retry_after_seconds: 7 })), {})
      expectError(limited, "RateLimited")
      expect(limited.structured).toMatchObject({ status: "ok", retry_after_seconds: 7, message: "slow down" })
      const lacking = yield* call(
        failing(new InsufficientScope({ message: "needs notes.write", missing_scopes: ["notes.write"] })),
        {}
      )
      expectError(lacking, "InsufficientScope")
      expect(lacking.structured).toMatchObject({ status: "error", missing_scopes: ["notes.write"] })
    })
  )
})

describe("app tools: the adapter checks the scopes, hands over the grant and answers Nextcloud failures", () => {
  const Out = Tool.response(["ok", "error"], { login: Schema.optional(Schema.String) })
  const alice = UserId.make("alice")
  const grantOf = (scopes: ReadonlyArray<Scope> | null): Grant => ({
    userId: alice,
    loginName: "alice@example.org",
    ncUserId: "alice",
    appPassword: Redacted.make("app-password-7f3a"),
    scopes,
    createdAt: 1,
    updatedAt: 1
  })

  /** The handler's runs, and whom Provisioning was told about (a 401). */
  const runs: Array<Grant> = []
  const unauthorized: Array<Grant> = []

  const appTool = (handler: (grant: Grant) => Effect.Effect<Tool.Reply<typeof Out.Type>, ToolError | NextcloudFailure>) =>
    Tool.make({
      name: "test_notes_peek",
      title: "Peek",
      description: "A tool for tests",
      annotations: {},
      scopes: ["notes.read"],
      input: Schema.Struct({}),
      output: Out,
      handler: (_input, { grant }) => Effect.suspend(() => (runs.push(grant), handler(grant)))
    })

  const answering = (stored: Grant | null, tokenScopes: ReadonlyArray<Scope> | null = null) =>
    Layer.mergeAll(
      Layer.succeed(CurrentUser, { userId: alice, tokenScopes }),
      Layer.succeed(ScopeCache, { get: () => Effect.succeed(Option.fromNullable(stored)) } as unknown as ScopeCache["Type"]),
      Layer.succeed(Provisioning, {
        reportUnauthorized: (grant: Grant) =>
          Effect.suspend(() => (unauthorized.push(grant), Effect.fail(new ProvisioningRequired({ message: "sign in again" }))))
      } as unknown as Provisioning["Type"]),
      NextcloudConfig.make("https://cloud.example.org")
    )

  const callApp = (tool: Tool.AnyTool, layer: Layer.Layer<Tool.AccessServices>) =>
    Effect.suspend(() => {
      runs.length = 0
      unauthorized.length = 0
      return runTool(tool, {}).pipe(
        Effect.provide(layer),
        Effect.map((result) => ({ result, structured: result.structuredContent as Record<string, unknown> }))
      )
    })

  const fine = appTool((grant) => Effect.succeed({ status: "ok" as const, message: "fine", login: grant.loginName }))

  it.effect("a grant covering the scopes reaches the handler; success is the adapter's", () =>
    Effect.gen(function* () {
      const stored = grantOf(["notes.read"])
      const r = yield* callApp(fine, answering(stored))
      expect(r.result.isError).toBeUndefined()
      expect(r.structured).toEqual({ status: "ok", success: true, message: "fine", login: "alice@example.org" })
      expect(runs).toEqual([stored])
    }))

  it.effect("no grant, a grant or a token lacking the scope: refused before the handler runs", () =>
    Effect.gen(function* () {
      expectError(yield* callApp(fine, answering(null)), "ProvisioningRequired")
      expect(runs).toEqual([])
      const lacking = yield* callApp(fine, answering(grantOf(["files.read"])))
      expectError(lacking, "InsufficientScope")
      expect(lacking.structured["missing_scopes"]).toEqual(["notes.read"])
      expect(runs).toEqual([])
      const byToken = yield* callApp(fine, answering(grantOf(null), ["files.read"]))
      expectError(byToken, "InsufficientScope")
      expect(String(byToken.structured["message"])).toContain("access token")
      expect(runs).toEqual([])
    }))

  it.effect("a Nextcloud failure the handler leaves gets the generic answer, naming the action when the handler named one", () =>
    Effect.gen(function* () {
      const timeout = new NextcloudTransportError({ operation: "Test.peek", reason: "unreachable", cause: null })
      const named = yield* callApp(appTool(() => Effect.fail(timeout).pipe(whileTrying("peek at your notes"))), answering(grantOf(null)))
      expectError(named, "NextcloudUnreachable")
      expect(named.structured["message"]).toBe(
        "Nextcloud at https://cloud.example.org could not be reached while trying to peek at your notes. Try again later."
      )
      const unnamed = yield* callApp(appTool(() => Effect.fail(new NextcloudLocked({ operation: "Test.peek" }))), answering(grantOf(null)))
      expectError(unnamed, "Locked")
      expect(String(unnamed.structured["message"])).toContain("while trying to use test_notes_peek")
      expect(JSON.stringify([named, unnamed])).not.toContain("app-password-7f3a")
    }))

  it.effect("a 401 goes to Provisioning with the caller's grant; refusals the handler maps itself pass unchanged", () =>
    Effect.gen(function* () {
      const stored = grantOf(null)
      const stale = yield* callApp(appTool(() => Effect.fail(new NextcloudUnauthorized({ operation: "Test.peek" }))), answering(stored))
      expectError(stale, "ProvisioningRequired")
      expect(unauthorized).toEqual([stored])
      const mapped = yield* callApp(
        appTool(() =>
          Effect.fail(new NextcloudNotFound({ operation: "Test.peek" })).pipe(
            Effect.catchTag("NextcloudNotFound", () => Effect.fail(new NotFound({ message: "There is no such note." }))),
            whileTrying("peek")
          )
        ),
        answering(stored)
      )
      expectError(mapped, "NotFound")
      expect(mapped.structured["message"]).toBe("There is no such note.")
    }))
})

describe("declared JSON Schemas", () => {
  const validator = new AjvJsonSchemaValidator()

  it("every tool has inlined object schemas for input and output", () => {
    expect(allTools.length).toBeGreaterThanOrEqual(4)
    for (const tool of allTools) {
      for (const schema of [toolJsonSchema(tool.input), toolJsonSchema(tool.output)]) {
        expect(schema["type"]).toBe("object")
        const text = JSON.stringify(schema)
        expect(text).not.toContain("$ref")
        expect(text).not.toContain("$defs")
        expect(schema["$schema"]).toBeUndefined()
      }
    }
  })

  for (const tool of allTools as ReadonlyArray<Tool.AnyTool>) {
    const input = validator.getValidator(toolJsonSchema(tool.input) as never)
    const output = validator.getValidator(toolJsonSchema(tool.output) as never)

    it.prop(`${tool.name}: every output the Schema accepts passes the outputSchema`, [tool.output as Schema.Schema<unknown>], ([value]) => {
      const encoded = Schema.encodeSync(tool.output as Schema.Schema<unknown>)(value)
      const verdict = output(encoded)
      expect(verdict.errorMessage ?? "valid").toBe("valid")
      expect(verdict.valid).toBe(true)
    })

    it.prop(`${tool.name}: every input the Schema accepts passes the inputSchema`, [tool.input as Schema.Schema<unknown>], ([value]) => {
      const encoded = Schema.encodeSync(tool.input as Schema.Schema<unknown>)(value)
      const verdict = input(encoded)
      expect(verdict.errorMessage ?? "valid").toBe("valid")
      expect(verdict.valid).toBe(true)
    })
  }

  it("the inputSchema rejects what decoding rejects: extra properties, wrong types, too many scopes", () => {
    const provision = validator.getValidator(toolJsonSchema(provisionAccess.input) as never)
    expect(provision({}).valid).toBe(true)
    expect(provision({ scopes: ["notes.read"] }).valid).toBe(true)
    expect(provision({ scopes: "notes.read" }).valid).toBe(false)
    expect(provision({ extra: 1 }).valid).toBe(false)
    expect(provision({ scopes: Array.from({ length: 65 }, () => "notes.read") }).valid).toBe(false)
    const check = validator.getValidator(toolJsonSchema(checkStatus.input) as never)
    expect(check({ wait_seconds: 500 }).valid).toBe(false)
    expect(check({ wait_seconds: 120 }).valid).toBe(true)
    const revoke = validator.getValidator(toolJsonSchema(revokeAccess.input) as never)
    expect(revoke({}).valid).toBe(true)
    expect(revoke({ x: 1 }).valid).toBe(false)
  })

  it("toolJsonSchema inlines identified schemas and refuses non-object roots", () => {
    const Named = Schema.Struct({ n: Schema.Int, s: Schema.NonEmptyTrimmedString }).annotations({ identifier: "Named" })
    const schema = toolJsonSchema(Named)
    expect(schema["type"]).toBe("object")
    expect(JSON.stringify(schema)).not.toContain("$ref")
    const valid = validator.getValidator(schema as never)
    expect(valid({ n: 1, s: "a" }).valid).toBe(true)
    expect(valid({ n: 1.5, s: "a" }).valid).toBe(false)
    expect(valid({ n: 1, s: "" }).valid).toBe(false)
    expect(() => toolJsonSchema(Schema.String)).toThrow(/object/)
  })
})
