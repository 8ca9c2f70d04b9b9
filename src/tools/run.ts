/**
 * The adapter: one `tools/call` of one tool, and nothing else decides what a
 * call answers (docs/tool-contract.md §5).
 *
 *   1. decode the arguments with the tool's input Schema (depth-checked first);
 *   2. app tools: check the declared scopes on both layers and fetch the
 *      caller's grant (`requireScopes`, access.ts);
 *   3. run the handler with the grant;
 *   4. answer what the handler left of a failed Nextcloud call generically
 *      (nextcloudFailures.ts);
 *   5. add `success: true` and encode with the output Schema — or, for a
 *      tagged error, answer `success: false`, `status`, `error_code` and the
 *      message (with the error's extra fields).
 *
 * It never fails and never leaks a defect: a defect is logged and answered as
 * a generic InternalError. Interruption (a cancelled request) propagates.
 */
import { Cause, Effect, FiberRef, ParseResult, Schema } from "effect"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { InvalidArguments, internalError, type ToolError } from "../domain/Errors.js"
import { requireScopes } from "./access.js"
import { requireApp } from "./availability.js"
import { answerFailure } from "./nextcloudFailures.js"
import type { AnyTool, Reply } from "./Tool.js"
import { describeArguments } from "./validation.js"

const MAX_ISSUE_TEXT = 2_000

/**
 * No tool takes arguments nested anywhere near this deep. Deeper values are
 * refused before decoding: decoding and describing them recurse once per
 * level and would exhaust the stack.
 */
export const MAX_ARGUMENT_DEPTH = 32

/** Whether `value` nests arrays or objects more than `max` levels deep (iterative: the input cannot drive recursion). */
const nestedDeeperThan = (value: unknown, max: number): boolean => {
  const stack: Array<readonly [unknown, number]> = [[value, 0]]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [node, depth] = next
    if (typeof node !== "object" || node === null) continue
    if (depth >= max) return true
    for (const child of Object.values(node)) stack.push([child, depth + 1])
  }
  return false
}

export const decodeArguments = <I>(schema: Schema.Schema<I, any>, args: unknown) =>
  nestedDeeperThan(args, MAX_ARGUMENT_DEPTH)
    ? Effect.fail(
        new InvalidArguments({ message: `Invalid arguments: nested more than ${MAX_ARGUMENT_DEPTH} levels deep.` })
      )
    : decodeChecked(schema, args)

/**
 * A tool's decoder and encoder, compiled once per Schema (a tool is called
 * many times; HTTP builds a Server per session, not a tool).
 */
const decoders = new WeakMap<Schema.Schema.Any, (u: unknown) => Effect.Effect<unknown, ParseResult.ParseError>>()
const encoders = new WeakMap<Schema.Schema.Any, (a: unknown) => Effect.Effect<unknown, ParseResult.ParseError>>()

const decoderOf = <I>(schema: Schema.Schema<I, any>) => {
  let decode = decoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknown(schema, { onExcessProperty: "error", errors: "all" }) as (u: unknown) => Effect.Effect<unknown, ParseResult.ParseError>
    decoders.set(schema, decode)
  }
  return decode as (u: unknown) => Effect.Effect<I, ParseResult.ParseError>
}

const encoderOf = (schema: Schema.Schema<any, any>) => {
  let encode = encoders.get(schema)
  if (encode === undefined) {
    encode = Schema.encode(schema) as (a: unknown) => Effect.Effect<unknown, ParseResult.ParseError>
    encoders.set(schema, encode)
  }
  return encode
}

const decodeChecked = <I>(schema: Schema.Schema<I, any>, args: unknown) =>
  decoderOf(schema)(args ?? {}).pipe(
    Effect.mapError((error) => {
      const detail = describeArguments(error.issue)
      return new InvalidArguments({
        message: detail.length > MAX_ISSUE_TEXT ? `${detail.slice(0, MAX_ISSUE_TEXT)}…` : detail
      })
    })
  )

/** Steps 2–4: the handler, behind the scope check for app tools. `R` holds the adapter's services by construction (`Tool.make`). */
const handle = <R>(tool: AnyTool<R>, input: unknown): Effect.Effect<Reply<unknown>, ToolError, R> => {
  if (tool.access === "open") return tool.handler(input, { tool: tool.name })
  const app = tool.app
  const checked =
    app?.presence === undefined
      ? requireScopes({ tool: tool.name, scopes: tool.scopes })
      : Effect.tap(requireScopes({ tool: tool.name, scopes: tool.scopes }), (grant) => requireApp(grant.userId, tool.name, app))
  const granted = Effect.flatMap(checked, (grant) =>
    tool.handler(input, { tool: tool.name, grant }).pipe(Effect.catchAll(answerFailure(grant, `use ${tool.name}`)))
  )
  return granted as Effect.Effect<Reply<unknown>, ToolError, R>
}

const toResult = (structured: Record<string, unknown>, isError: boolean): CallToolResult => ({
  structuredContent: structured,
  content: [{ type: "text", text: JSON.stringify(structured) }],
  ...(isError ? { isError: true } : {})
})

const errorResponse = (tool: AnyTool, error: ToolError): Record<string, unknown> => {
  const extra: Record<string, unknown> = {}
  if ("missing_scopes" in error) extra["missing_scopes"] = error.missing_scopes
  if ("invalid_scopes" in error && error.invalid_scopes.length > 0) extra["invalid_scopes"] = error.invalid_scopes
  if ("retry_after_seconds" in error) extra["retry_after_seconds"] = error.retry_after_seconds
  if ("app" in error) extra["app"] = error.app
  return {
    status: tool.errorStatus?.(error) ?? "error",
    success: false,
    message: error.message,
    error_code: error._tag,
    ...extra
  }
}

/**
 * A span per call when a tracer is on. With tracing off (the command line)
 * a span is a no-op that still costs a stack capture and a context copy on
 * every call, so it is left out.
 */
const traced = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(FiberRef.get(FiberRef.currentTracerEnabled), (enabled) => (enabled ? Effect.withSpan(effect, name) : effect))

/** One `tools/call`, as a structured MCP result. */
export const runTool = <R>(tool: AnyTool<R>, args: unknown): Effect.Effect<CallToolResult, never, R> =>
  traced(`tool.${tool.name}`, answer(tool, args))

const answer = <R>(tool: AnyTool<R>, args: unknown): Effect.Effect<CallToolResult, never, R> =>
  decodeArguments(tool.input, args).pipe(
    Effect.flatMap((input) => handle(tool, input)),
    Effect.flatMap((reply) => encoderOf(tool.output)({ ...(reply as object), success: true }).pipe(Effect.orDie)),
    Effect.map((encoded) => toResult(encoded as Record<string, unknown>, false)),
    Effect.catchAll((error: ToolError) => Effect.succeed(toResult(errorResponse(tool, error), true))),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.logError(`tool ${tool.name} failed with a defect`, cause).pipe(
            Effect.as(toResult(errorResponse(tool, internalError()), true))
          )
    )
  )
