/**
 * The auth tools (docs/tool-contract.md §6): provision access through Login Flow v2, check
 * it, change its scopes, revoke it.
 */
import { Clock, Duration, Effect, Either, Redacted, Schema } from "effect"
import { CurrentUser } from "../auth/CurrentUser.js"
import { InvalidArguments, InvalidScopes, type ToolError } from "../domain/Errors.js"
import * as Scopes from "../domain/Scope.js"
import { Progress } from "./Progress.js"
import { Provisioning, type StatusResult } from "../provisioning/Provisioning.js"
import * as Tool from "./Tool.js"

const MAX_SCOPE_ITEMS = 64

const ScopeList = Schema.Array(Schema.String.pipe(Schema.maxLength(64))).pipe(Schema.maxItems(MAX_SCOPE_ITEMS))

const scopeHelp = `Scopes are \`app.action\` with app one of ${Scopes.APPS.join(", ")} and action read or write (e.g. "notes.read"); "notes:read" is accepted too.`

const Grantable = Schema.NullOr(Schema.Array(Scopes.Scope))

const McpUserId = Schema.String.annotations({
  description:
    "The MCP user this access belongs to (NC_MCP_USER in stdio mode, the token's sub in http mode); not a Nextcloud name — see username."
})

/** Validate caller-supplied scopes; unknown ones are an `InvalidScopes` error that lists the vocabulary. */
const validScopes = (raw: ReadonlyArray<string>, field: string) =>
  Either.match(Scopes.parseScopesStrict(raw), {
    onLeft: (invalid) =>
      Effect.fail(
        new InvalidScopes({
          message: `Unknown scope(s) in ${field}: ${invalid.slice(0, 10).join(", ")}${invalid.length > 10 ? ` and ${invalid.length - 10} more` : ""}. Valid scopes: ${Scopes.ALL_SCOPES.join(", ")}.`,
          invalid_scopes: invalid.slice(0, MAX_SCOPE_ITEMS)
        })
      ),
    onRight: Effect.succeed
  })

const statusForLogin = (error: ToolError) =>
  error._tag === "LoginDeclined" ? "declined" : error._tag === "LoginCancelled" ? "cancelled" : "error"

// ---------------------------------------------------------------------------

export const ProvisionAccessInput = Schema.Struct({
  scopes: Schema.optional(
    ScopeList.annotations({
      description: `App scopes to grant. Omit for unrestricted access; an empty list is an error. ${scopeHelp}`
    })
  )
})

export const ProvisionAccessOutput = Tool.response(
  ["login_required", "pending", "already_provisioned", "declined", "cancelled", "error"],
  {
    login_url: Schema.optional(Schema.String),
    user_id: Schema.optional(McpUserId),
    requested_scopes: Schema.optional(Grantable)
  }
)

export const provisionAccess = Tool.open({
  name: "nc_auth_provision_access",
  title: "Provision Nextcloud Access",
  description:
    "Start Nextcloud Login Flow v2 to obtain an app password for you, so Nextcloud tools can act on your behalf. " +
    "You get a URL to open in your browser; approve access there (no password is ever pasted here). " +
    "Then call nc_auth_check_status.",
  annotations: { idempotentHint: false, openWorldHint: true },
  input: ProvisionAccessInput,
  output: ProvisionAccessOutput,
  errorStatus: statusForLogin,
  handler: (input, { tool }) =>
    Effect.gen(function* () {
      const user = yield* CurrentUser
      let requested: ReadonlyArray<Scopes.Scope> | null = null
      if (input.scopes !== undefined) {
        if (input.scopes.length === 0) {
          return yield* new InvalidScopes({
            message: "scopes is an empty list. Omit it for unrestricted access, or name at least one scope.",
            invalid_scopes: []
          })
        }
        requested = yield* validScopes(input.scopes, "scopes")
        if (requested.length === 0) {
          return yield* new InvalidScopes({
            message: `Only identity scopes were given; they grant no app access. ${scopeHelp}`,
            invalid_scopes: []
          })
        }
      }
      const provisioning = yield* Provisioning
      const result = yield* provisioning.provision(user.userId, requested, tool)
      if (result.status === "already_provisioned") {
        return {
          status: "already_provisioned",
          message: `Nextcloud access is already provisioned for ${user.userId} (as ${result.grant.loginName}; scopes: ${Scopes.format(result.grant.scopes)}). Use nc_auth_update_scopes to change the scopes or nc_auth_revoke_access to remove it.`,
          user_id: user.userId,
          requested_scopes: result.grant.scopes
        } as const
      }
      const message =
        result.status === "pending"
          ? `Login opened. Approve access in your browser, then call nc_auth_check_status. If the page did not open: ${result.loginUrl}`
          : `Open this URL in your browser and approve access to Nextcloud:\n\n${result.loginUrl}\n\nThen call nc_auth_check_status. The link is valid for 20 minutes.`
      return {
        status: result.status,
        message,
        login_url: result.loginUrl,
        user_id: user.userId,
        requested_scopes: result.requestedScopes
      } as const
    })
})

// ---------------------------------------------------------------------------

export const MAX_WAIT_SECONDS = 120

export const CheckStatusInput = Schema.Struct({
  wait_seconds: Schema.optional(
    Schema.Number.pipe(Schema.between(0, MAX_WAIT_SECONDS)).annotations({
      description: `Wait up to this many seconds (0–${MAX_WAIT_SECONDS}, default 0) for a pending login to be approved; returns as soon as it is.`
    })
  )
})

export const CheckStatusOutput = Tool.response(["provisioned", "pending", "not_initiated", "error"], {
  user_id: Schema.optional(McpUserId),
  scopes: Schema.optional(Grantable),
  username: Schema.optional(
    Schema.NullOr(Schema.String).annotations({
      description:
        "The Nextcloud login name the app password signs in with (as typed when approving: the user id or an email); not the MCP user — see user_id."
    })
  ),
  login_url: Schema.optional(Schema.String),
  expires_in_seconds: Schema.optional(Schema.Number)
})

export const checkStatus = Tool.open({
  name: "nc_auth_check_status",
  title: "Check Nextcloud Access Status",
  description:
    "Check whether Nextcloud access is provisioned. If a login is pending, checks whether it was approved; " +
    `with wait_seconds (up to ${MAX_WAIT_SECONDS}) it waits for the approval and returns as soon as it happens.`,
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: true },
  input: CheckStatusInput,
  output: CheckStatusOutput,
  handler: (input) =>
    Effect.gen(function* () {
      const user = yield* CurrentUser
      const provisioning = yield* Provisioning
      const wait = Duration.seconds(input.wait_seconds ?? 0)
      let result: StatusResult = yield* provisioning.status(user.userId)
      const waiting = result.status === "pending" || (result.status === "provisioned" && result.pendingUpdate !== null)
      if (waiting && Duration.toMillis(wait) > 0) {
        const progress = yield* Progress
        const total = input.wait_seconds ?? 0
        const waitStarted = yield* Clock.currentTimeMillis
        yield* provisioning.awaitCompletion(user.userId, wait, (elapsed) =>
          progress.report(
            Math.min(total, Math.round(Duration.toSeconds(elapsed))),
            total,
            "Waiting for the login to be approved in the browser…"
          )
        )
        result = yield* provisioning.status(user.userId)
        // Stored while we waited: the login just completed.
        if (result.status === "provisioned" && result.grant.createdAt >= waitStarted) result = { ...result, justCompleted: true }
      }
      switch (result.status) {
        case "provisioned": {
          const base = `${result.justCompleted ? "Nextcloud access provisioned successfully" : "Nextcloud access is provisioned"} as ${result.grant.loginName} (scopes: ${Scopes.format(result.grant.scopes)}).`
          const update = result.pendingUpdate
          if (update === null) {
            return {
              status: "provisioned",
              message: base,
              user_id: user.userId,
              scopes: result.grant.scopes,
              username: result.grant.loginName
            } as const
          }
          const now = yield* Clock.currentTimeMillis
          const loginUrl = Redacted.value(update.loginUrl)
          return {
            status: "provisioned",
            message: `${base} A login to change them to ${Scopes.format(update.requestedScopes)} is waiting for approval; open this URL in your browser and approve it:\n\n${loginUrl}`,
            user_id: user.userId,
            scopes: result.grant.scopes,
            username: result.grant.loginName,
            login_url: loginUrl,
            expires_in_seconds: Math.max(0, Math.round((update.expiresAt - now) / 1000))
          } as const
        }
        case "pending": {
          const now = yield* Clock.currentTimeMillis
          const loginUrl = Redacted.value(result.flow.loginUrl)
          return {
            status: "pending",
            message: `The login is still waiting for approval. Open this URL in your browser and approve access:\n\n${loginUrl}\n\nThen call nc_auth_check_status again (wait_seconds lets it wait).`,
            user_id: user.userId,
            login_url: loginUrl,
            expires_in_seconds: Math.max(0, Math.round((result.flow.expiresAt - now) / 1000))
          } as const
        }
        case "not_initiated":
          return {
            status: "not_initiated",
            message: result.expired
              ? "The login flow expired (logins must be approved within 20 minutes). Call nc_auth_provision_access to start a new one."
              : "No provisioning in progress. Call nc_auth_provision_access to start.",
            user_id: user.userId
          } as const
      }
    })
})

// ---------------------------------------------------------------------------

export const UpdateScopesInput = Schema.Struct({
  add_scopes: Schema.optional(
    ScopeList.annotations({ description: `Scopes to add; needs a new approval in Nextcloud. ${scopeHelp}` })
  ),
  remove_scopes: Schema.optional(
    ScopeList.annotations({ description: "Scopes to remove; takes effect at once, no new login." })
  )
})

export const UpdateScopesOutput = Tool.response(
  ["login_required", "updated", "unchanged", "declined", "cancelled", "error"],
  {
    login_url: Schema.optional(Schema.String),
    previous_scopes: Schema.optional(Grantable),
    new_scopes: Schema.optional(Grantable)
  }
)

export const updateScopes = Tool.open({
  name: "nc_auth_update_scopes",
  title: "Update Nextcloud Access Scopes",
  description:
    "Change the scopes of your Nextcloud access. Removing scopes takes effect immediately. " +
    "Adding scopes starts a new login to approve in the browser; the current access stays valid until it completes, " +
    "then the new app password replaces the old one (which is revoked).",
  annotations: { idempotentHint: false, openWorldHint: true },
  input: UpdateScopesInput,
  output: UpdateScopesOutput,
  errorStatus: statusForLogin,
  handler: (input, { tool }) =>
    Effect.gen(function* () {
      const user = yield* CurrentUser
      if ((input.add_scopes?.length ?? 0) === 0 && (input.remove_scopes?.length ?? 0) === 0) {
        return yield* new InvalidArguments({
          message: "Provide add_scopes and/or remove_scopes (non-empty) to change your scopes."
        })
      }
      const add = yield* validScopes(input.add_scopes ?? [], "add_scopes")
      const remove = yield* validScopes(input.remove_scopes ?? [], "remove_scopes")
      const provisioning = yield* Provisioning
      const result = yield* provisioning.updateScopes(user.userId, add, remove, tool)
      switch (result.status) {
        case "unchanged":
          return {
            status: "unchanged",
            message: `Your scopes already are ${Scopes.format(result.previous)}; nothing changed.`,
            previous_scopes: result.previous,
            new_scopes: result.next
          } as const
        case "updated":
          return {
            status: "updated",
            message: `Scopes narrowed, effective now: ${Scopes.format(result.next)}.`,
            previous_scopes: result.previous,
            new_scopes: result.next
          } as const
        case "login_required":
        case "pending": {
          const interim =
            result.interim !== result.previous ? ` Removed scopes already took effect (now ${Scopes.format(result.interim)}).` : ""
          const open =
            result.status === "pending"
              ? `Approve the new login in your browser, then call nc_auth_check_status. If the page did not open: ${result.loginUrl}`
              : `Open this URL in your browser to approve the new scopes:\n\n${result.loginUrl}\n\nThen call nc_auth_check_status.`
          return {
            status: "login_required",
            message: `Adding scopes needs a new approval in Nextcloud (requested: ${Scopes.format(result.next)}).${interim} ${open}`,
            login_url: result.loginUrl,
            previous_scopes: result.previous,
            new_scopes: result.next
          } as const
        }
      }
    })
})

// ---------------------------------------------------------------------------

export const RevokeAccessInput = Tool.NoArguments

export const RevokeAccessOutput = Tool.response(["revoked", "not_provisioned", "error"], {
  user_id: Schema.optional(McpUserId),
  remote_revoked: Schema.optional(Schema.Boolean)
})

export const revokeAccess = Tool.open({
  name: "nc_auth_revoke_access",
  title: "Revoke Nextcloud Access",
  description:
    "Remove your Nextcloud access: the app password is revoked at Nextcloud and deleted here, and any pending login is abandoned.",
  annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: true },
  input: RevokeAccessInput,
  output: RevokeAccessOutput,
  handler: () =>
    Effect.gen(function* () {
      const user = yield* CurrentUser
      const provisioning = yield* Provisioning
      const result = yield* provisioning.revoke(user.userId)
      if (result.status === "not_provisioned") {
        return {
          status: "not_provisioned",
          message: result.flowCancelled
            ? "No Nextcloud access was provisioned; the pending login was abandoned."
            : "No Nextcloud access is provisioned for you; nothing to revoke.",
          user_id: user.userId,
          remote_revoked: false
        } as const
      }
      return {
        status: "revoked",
        message: result.remoteRevoked
          ? "Access revoked: Nextcloud confirmed the app password is gone, and it was deleted here."
          : `The app password was deleted here, but Nextcloud did not confirm revoking it (${result.remoteFailure ?? "unknown reason"}). Remove the device whose name starts with "nextcloud-mcp/" in Nextcloud under Settings → Security to be sure.`,
        user_id: user.userId,
        remote_revoked: result.remoteRevoked
      } as const
    })
})

export const authTools = [provisionAccess, checkStatus, updateScopes, revokeAccess] as const
