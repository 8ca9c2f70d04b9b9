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
import { Cause, Effect, Either, type ParseResult, Schema } from "effect"
import { whenTracing } from "../log/spans.js"
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

/**
 * The arguments decoded with the tool's input Schema, or why not. Tool
 * Schemas are synchronous: decoded as a plain value, without the effects
 * an effectful decode runs on every call.
 */
export const decodeArguments = <I>(schema: Schema.Schema<I, any>, args: unknown): Either.Either<I, InvalidArguments> => {
  if (nestedDeeperThan(args, MAX_ARGUMENT_DEPTH)) {
    return Either.left(new InvalidArguments({ message: `Invalid arguments: nested more than ${MAX_ARGUMENT_DEPTH} levels deep.` }))
  }
  return Either.mapLeft(decoderOf(schema)(args ?? {}), (error) => {
    const detail = describeArguments(error.issue)
    return new InvalidArguments({
      message: detail.length > MAX_ISSUE_TEXT ? `${detail.slice(0, MAX_ISSUE_TEXT)}…` : detail
    })
  })
}

/**
 * A tool's decoder and encoder, compiled once per Schema (a tool is called
 * many times; HTTP builds a Server per session, not a tool).
 */
const decoders = new WeakMap<Schema.Schema.Any, (u: unknown) => Either.Either<unknown, ParseResult.ParseError>>()
const encoders = new WeakMap<Schema.Schema.Any, (a: unknown) => Either.Either<unknown, ParseResult.ParseError>>()

const decoderOf = <I>(schema: Schema.Schema<I, any>) => {
  let decode = decoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "all" }) as (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
    decoders.set(schema, decode)
  }
  return decode as (u: unknown) => Either.Either<I, ParseResult.ParseError>
}

const encoderOf = (schema: Schema.Schema<any, any>) => {
  let encode = encoders.get(schema)
  if (encode === undefined) {
    encode = Schema.encodeEither(schema) as (a: unknown) => Either.Either<unknown, ParseResult.ParseError>
    encoders.set(schema, encode)
  }
  return encode
}

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

/** One `tools/call`, as a structured MCP result. A span per call when a tracer is on (log/spans.ts). */
export const runTool = <R>(tool: AnyTool<R>, args: unknown): Effect.Effect<CallToolResult, never, R> =>
  whenTracing(`tool.${tool.name}`, answer(tool, args))

/** Steps 1, 4 and 5, in one step of the fiber's loop after the handler: every outcome goes through `answered`. */
const answer = <R>(tool: AnyTool<R>, args: unknown): Effect.Effect<CallToolResult, never, R> =>
  Effect.matchCauseEffect(
    Effect.suspend(() => {
      const input = decodeArguments(tool.input, args)
      return Either.isLeft(input) ? Effect.fail(input.left) : handle(tool, input.right)
    }),
    {
      onSuccess: (reply) => {
        const encoded = encoderOf(tool.output)({ ...(reply as object), success: true })
        // An answer its own Schema refuses is a bug in the tool.
        return Either.isRight(encoded)
          ? Effect.succeed(toResult(encoded.right as Record<string, unknown>, false))
          : defect(tool, Cause.die(encoded.left))
      },
      onFailure: (cause) => {
        const failure = Cause.failureOrCause(cause)
        if (Either.isLeft(failure)) return Effect.succeed(toResult(errorResponse(tool, failure.left), true))
        return Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : defect(tool, cause)
      }
    }
  )

/** A defect: logged, and answered as a generic InternalError. */
const defect = (tool: AnyTool, cause: Cause.Cause<unknown>) =>
  Effect.logError(`tool ${tool.name} failed with a defect`, cause).pipe(Effect.as(toResult(errorResponse(tool, internalError()), true)))
