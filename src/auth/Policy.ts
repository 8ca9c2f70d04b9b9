/**
 * Authorisation for data tools (CONTRACT §3): effective access = token scopes
 * (everything in stdio) ∩ stored grant (`null` = no additional restriction).
 */
import { Effect, Option } from "effect"
import { InsufficientScope, ProvisioningRequired } from "../domain/Errors.js"
import * as Scopes from "../domain/Scope.js"
import type { UserId } from "../domain/Ids.js"
import { Audit } from "../provisioning/Audit.js"
import { storageUnavailable } from "../storage/errors.js"
import type { Grant } from "../storage/Storage.js"
import { CurrentUser } from "./CurrentUser.js"
import { ScopeCache } from "./ScopeCache.js"

export const provisioningRequiredMessage =
  "No Nextcloud access is provisioned for you yet. Call nc_auth_provision_access and approve the login in your browser."

/**
 * Audit a refusal as `access_denied` (repeats coalesced; see {@link Audit}).
 * Optional, so embedders need no audit log for scope checks.
 */
const auditRefusal = (userId: UserId, reason: string, detail: Readonly<Record<string, unknown>>) =>
  Effect.serviceOption(Audit).pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.void, onSome: (audit) => audit.refusal(userId, reason, detail) }))
  )

const auditDenied = (userId: UserId, missing: ReadonlyArray<Scopes.Scope>, layer: "token" | "grant") =>
  auditRefusal(userId, `${layer}:${missing.join(",")}`, { missing_scopes: missing, layer })

/** The caller's grant, when it covers every required scope on both layers. */
export const requireScopes = (...required: ReadonlyArray<Scopes.Scope>) =>
  Effect.gen(function* () {
    const user = yield* CurrentUser
    const cache = yield* ScopeCache
    const fromToken = Scopes.missing(required, user.tokenScopes)
    if (fromToken.length > 0) {
      yield* auditDenied(user.userId, fromToken, "token")
      return yield* new InsufficientScope({
        message: `Your access token lacks the scope(s) ${fromToken.join(", ")}. Ask your MCP client to sign in again with them.`,
        missing_scopes: fromToken
      })
    }
    const grant = yield* cache.get(user.userId).pipe(Effect.catchTag("StorageError", storageUnavailable))
    if (Option.isNone(grant)) {
      return yield* new ProvisioningRequired({ message: provisioningRequiredMessage })
    }
    const fromGrant = Scopes.missing(required, grant.value.scopes)
    if (fromGrant.length > 0) {
      yield* auditDenied(user.userId, fromGrant, "grant")
      return yield* new InsufficientScope({
        message: `Your Nextcloud access does not include ${fromGrant.join(", ")}. Call nc_auth_update_scopes with add_scopes: [${fromGrant.map((s) => `"${s}"`).join(", ")}] to request them.`,
        missing_scopes: fromGrant
      })
    }
    return grant.value satisfies Grant
  })
