/**
 * Errors a tool can answer (CONTRACT §5). Each becomes a structured result with
 * `success: false`, `isError: true` and `error_code` = the tag. Infrastructure
 * errors inside services are `Data.TaggedError`s and are collapsed into these
 * at the service edge.
 */
import { Schema } from "effect"
import { Scope } from "./Scope.js"

export class InvalidArguments extends Schema.TaggedError<InvalidArguments>()("InvalidArguments", {
  message: Schema.String
}) {}

export class InvalidScopes extends Schema.TaggedError<InvalidScopes>()("InvalidScopes", {
  message: Schema.String,
  invalid_scopes: Schema.Array(Schema.String)
}) {}

export class NextcloudUnreachable extends Schema.TaggedError<NextcloudUnreachable>()("NextcloudUnreachable", {
  message: Schema.String
}) {}

export class NextcloudError extends Schema.TaggedError<NextcloudError>()("NextcloudError", {
  message: Schema.String
}) {}

export class ProvisioningRequired extends Schema.TaggedError<ProvisioningRequired>()("ProvisioningRequired", {
  message: Schema.String
}) {}

export class InsufficientScope extends Schema.TaggedError<InsufficientScope>()("InsufficientScope", {
  message: Schema.String,
  missing_scopes: Schema.Array(Scope)
}) {}

export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  retry_after_seconds: Schema.Number
}) {}

export class LoginDeclined extends Schema.TaggedError<LoginDeclined>()("LoginDeclined", {
  message: Schema.String
}) {}

export class LoginCancelled extends Schema.TaggedError<LoginCancelled>()("LoginCancelled", {
  message: Schema.String
}) {}

export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  message: Schema.String
}) {}

export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  message: Schema.String
}) {}

export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  message: Schema.String
}) {}

export type ToolError =
  | InvalidArguments
  | InvalidScopes
  | NextcloudUnreachable
  | NextcloudError
  | ProvisioningRequired
  | InsufficientScope
  | RateLimited
  | LoginDeclined
  | LoginCancelled
  | NotFound
  | Conflict
  | InternalError

export const internalError = () =>
  new InternalError({ message: "An internal error occurred. The server logged the details and keeps serving." })
