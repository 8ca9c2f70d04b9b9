/**
 * Errors a tool can answer (docs/tool-contract.md §5). Each becomes a structured result with
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

/** A login meant to replace a grant was approved by another Nextcloud account; the grant stays as it was. */
export class LoginWrongAccount extends Schema.TaggedError<LoginWrongAccount>()("LoginWrongAccount", {
  message: Schema.String
}) {}

export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  message: Schema.String
}) {}

export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  message: Schema.String
}) {}

/** Nextcloud refused a write because the user's storage quota is used up (HTTP 507). */
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", {
  message: Schema.String
}) {}

/** The file or note is locked in Nextcloud (HTTP 423), e.g. open in an editor or being synced. */
export class Locked extends Schema.TaggedError<Locked>()("Locked", {
  message: Schema.String
}) {}

/** Nextcloud does not let this user do that (HTTP 403), e.g. a read-only shared note. */
export class PermissionDenied extends Schema.TaggedError<PermissionDenied>()("PermissionDenied", {
  message: Schema.String
}) {}

/**
 * Nextcloud's own policy refused the request, and the message says which
 * rule (a password or an expiry date its sharing settings demand), so the
 * caller can supply what is required rather than guess.
 */
export class PolicyViolation extends Schema.TaggedError<PolicyViolation>()("PolicyViolation", {
  message: Schema.String
}) {}

/** A file is too large to be returned as text by a tool. */
export class FileTooLarge extends Schema.TaggedError<FileTooLarge>()("FileTooLarge", {
  message: Schema.String
}) {}

/** A file's content is not UTF-8 text (binary data cannot be returned as text). */
export class NotTextFile extends Schema.TaggedError<NotTextFile>()("NotTextFile", {
  message: Schema.String
}) {}

/** The Nextcloud app a tool needs is not installed or not enabled for the user. */
export class AppNotAvailable extends Schema.TaggedError<AppNotAvailable>()("AppNotAvailable", {
  message: Schema.String,
  /** The app's id in the scope vocabulary. */
  app: Schema.String
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
  | LoginWrongAccount
  | NotFound
  | Conflict
  | QuotaExceeded
  | Locked
  | PermissionDenied
  | PolicyViolation
  | FileTooLarge
  | NotTextFile
  | AppNotAvailable
  | InternalError

export const internalError = () =>
  new InternalError({ message: "An internal error occurred. The server logged the details and keeps serving." })

/** No grant is stored for the caller: what every scoped tool answers before provisioning. */
export const provisioningRequired = () =>
  new ProvisioningRequired({
    message: "No Nextcloud access is provisioned for you yet. Call nc_auth_provision_access and approve the login in your browser."
  })
