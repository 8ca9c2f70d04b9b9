/**
 * A tool is a value: name, hints, input and output Schemas, the token scopes it
 * needs, and a handler that is an Effect failing only with tagged errors.
 * `runTool` turns one call into a structured MCP result; it never throws and
 * never leaks a defect.
 */
import { Cause, Effect, ParseResult, Schema } from "effect"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { InvalidArguments, internalError, type ToolError } from "../domain/Errors.js"
import { Scope } from "../domain/Scope.js"

export interface ToolAnnotations {
  readonly readOnlyHint?: boolean
  readonly destructiveHint?: boolean
  readonly idempotentHint?: boolean
  readonly openWorldHint?: boolean
}

export interface Tool<I, O, R> {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly annotations: ToolAnnotations
  readonly input: Schema.Schema<I, any>
  readonly output: Schema.Schema<O, any>
  /** Token scopes needed to see and call the tool (http mode); empty for the auth tools. */
  readonly scopes: ReadonlyArray<Scope>
  /** The `status` of an error result, per error (default "error"). */
  readonly errorStatus?: (error: ToolError) => string
  readonly handler: (input: I) => Effect.Effect<O, ToolError, R>
}

// biome-ignore lint: a registry holds tools of every input/output type
export type AnyTool<R = any> = Tool<any, any, R>

export const make = <I, O, R>(tool: Tool<I, O, R>): Tool<I, O, R> => tool

/** Fields every response carries (CONTRACT §5). */
export const baseFields = {
  success: Schema.Boolean.annotations({ description: "false when the call failed; then error_code is set" }),
  message: Schema.String.annotations({ description: "What happened, for a person; includes the login URL when there is one" }),
  error_code: Schema.optional(Schema.String.annotations({ description: "The failure's name, when success is false" })),
  missing_scopes: Schema.optional(Schema.Array(Scope)),
  invalid_scopes: Schema.optional(Schema.Array(Schema.String)),
  retry_after_seconds: Schema.optional(Schema.Number)
}

/** A tool's output schema: its statuses, the common fields, and its own (optional) fields. */
export const response = <const S extends ReadonlyArray<string>, F extends Schema.Struct.Fields>(
  statuses: S,
  fields: F
) =>
  Schema.Struct({
    status: Schema.Literal(...(statuses as unknown as readonly [S[number], ...Array<S[number]>])),
    ...baseFields,
    ...fields
  })

/**
 * The input of a tool that takes no arguments. `Schema.Struct({})` would not
 * do: it accepts any value, extra properties included.
 */
export const NoArguments = Schema.Struct({}).pipe(
  Schema.filter(
    (args) =>
      (typeof args === "object" && !Array.isArray(args) && Object.keys(args).length === 0) ||
      "this tool takes no arguments"
  )
).annotations({
  description: "No arguments",
  jsonSchema: { type: "object", properties: {}, additionalProperties: false }
})

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

const decodeChecked = <I>(schema: Schema.Schema<I, any>, args: unknown) =>
  Schema.decodeUnknown(schema)(args ?? {}, { onExcessProperty: "error", errors: "all" }).pipe(
    Effect.mapError((error) => {
      const detail = ParseResult.TreeFormatter.formatErrorSync(error)
      return new InvalidArguments({
        message: `Invalid arguments: ${detail.length > MAX_ISSUE_TEXT ? `${detail.slice(0, MAX_ISSUE_TEXT)}…` : detail}`
      })
    })
  )

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
  return {
    status: tool.errorStatus?.(error) ?? "error",
    success: false,
    message: error.message,
    error_code: error._tag,
    ...extra
  }
}

/**
 * One `tools/call`: decode the arguments, run the handler, encode its output.
 * Tagged errors become `isError` results; a defect is logged and answered as a
 * generic internal error; interruption (a cancelled request) propagates.
 */
export const runTool = <R>(tool: AnyTool<R>, args: unknown): Effect.Effect<CallToolResult, never, R> =>
  decodeArguments(tool.input, args).pipe(
    Effect.flatMap(tool.handler),
    Effect.flatMap((output) => Schema.encode(tool.output)(output).pipe(Effect.orDie)),
    Effect.map((encoded) => toResult(encoded as Record<string, unknown>, false)),
    Effect.catchAll((error: ToolError) => Effect.succeed(toResult(errorResponse(tool, error), true))),
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.logError(`tool ${tool.name} failed with a defect`, cause).pipe(
            Effect.as(toResult(errorResponse(tool, internalError()), true))
          )
    ),
    Effect.withSpan(`tool.${tool.name}`)
  )
