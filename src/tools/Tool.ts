/**
 * A tool is a value: name, hints, input and output Schemas, the scopes it
 * needs, and a handler that is an Effect failing only with tagged errors.
 *
 * - `Tool.make`: an app tool. It declares its scopes once; the adapter
 *   (`runTool`, run.ts) checks them for every call and hands the handler the
 *   caller's grant. Its handler may leave failed Nextcloud calls to the
 *   adapter, which answers them generically (nextcloudFailures.ts).
 * - `Tool.open`: a tool every caller may use, with or without a grant (the
 *   auth tools).
 *
 * Handlers return their `status`, `message` and own fields; the adapter adds
 * `success` (and on failure `status`, `error_code` and the message).
 */
import { type Array as Arr, type Effect, Schema } from "effect"
import type { CurrentUser } from "../auth/CurrentUser.js"
import type { ScopeCache } from "../auth/ScopeCache.js"
import type { ToolError } from "../domain/Errors.js"
import { Scope } from "../domain/Scope.js"
import type { NextcloudConfig } from "../nextcloud/NextcloudConfig.js"
import type { Provisioning } from "../provisioning/Provisioning.js"
import type { Grant } from "../storage/Storage.js"
import type { ToolApp } from "./availability.js"
import type { NextcloudFailure } from "./nextcloudFailures.js"

export interface ToolAnnotations {
  readonly readOnlyHint?: boolean
  readonly destructiveHint?: boolean
  readonly idempotentHint?: boolean
  readonly openWorldHint?: boolean
}

/** What a handler answers on success: its output without `success`, which the adapter adds. */
export type Reply<O> = Omit<O, "success">

/** What the adapter hands every handler. */
export interface ToolCall {
  /** The tool's own name, for audit entries. */
  readonly tool: string
}

/** What the adapter hands the handler of an app tool: the caller's grant, which covers the tool's scopes. */
export interface GrantedCall extends ToolCall {
  readonly grant: Grant
}

/** Services the adapter's own steps use for an app tool: the scope check and the answers to failed Nextcloud calls. */
export type AccessServices = CurrentUser | ScopeCache | Provisioning | NextcloudConfig

interface Definition<I, O> {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly annotations: ToolAnnotations
  readonly input: Schema.Schema<I, any>
  readonly output: Schema.Schema<O, any>
  /** The `status` of an error result, per error (default "error"). */
  readonly errorStatus?: (error: ToolError) => string
}

/** A tool acting in the caller's Nextcloud, gated by its scopes. */
export interface AppTool<I, O, R> extends Definition<I, O> {
  readonly access: "grant"
  /** Needed to see (http mode) and to call the tool; checked by the adapter on every call. */
  readonly scopes: Arr.NonEmptyReadonlyArray<Scope>
  /**
   * The Nextcloud app it acts in (set by `App.make`): a user whose Nextcloud
   * lacks the app does not see the tool, and a call answers `AppNotAvailable`.
   */
  readonly app?: ToolApp
  readonly handler: (input: I, call: GrantedCall) => Effect.Effect<Reply<O>, ToolError | NextcloudFailure, R>
}

/** A tool any caller may use, provisioned or not. */
export interface OpenTool<I, O, R> extends Definition<I, O> {
  readonly access: "open"
  readonly scopes: ReadonlyArray<never>
  readonly handler: (input: I, call: ToolCall) => Effect.Effect<Reply<O>, ToolError, R>
}

/** `R`: everything a call of the tool needs, the adapter's own steps included. */
export type Tool<I, O, R> = AppTool<I, O, R> | OpenTool<I, O, R>

// biome-ignore lint: a registry holds tools of every input/output type
export type AnyTool<R = any> = Tool<any, any, R>

/** An app tool: `scopes` are checked by the adapter, whose grant the handler receives. */
export const make = <I, O, R = never>(tool: Omit<AppTool<I, O, R>, "access">): AppTool<I, O, R | AccessServices> => ({
  ...tool,
  access: "grant"
})

/** A tool that needs no grant (the auth tools): no scope check, no grant handed over. */
export const open = <I, O, R = never>(tool: Omit<OpenTool<I, O, R>, "access" | "scopes">): OpenTool<I, O, R> => ({
  ...tool,
  access: "open",
  scopes: []
})

/** Fields every response carries (docs/tool-contract.md §5). */
export const baseFields = {
  success: Schema.Boolean.annotations({ description: "false when the call failed; then error_code is set" }),
  message: Schema.String.annotations({ description: "What happened, for a person; includes the login URL when there is one" }),
  error_code: Schema.optional(Schema.String.annotations({ description: "The failure's name, when success is false" })),
  missing_scopes: Schema.optional(Schema.Array(Scope)),
  invalid_scopes: Schema.optional(Schema.Array(Schema.String)),
  retry_after_seconds: Schema.optional(Schema.Number),
  app: Schema.optional(Schema.String.annotations({ description: "The Nextcloud app that is not available, with AppNotAvailable" }))
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
