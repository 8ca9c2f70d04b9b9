/**
 * The adapter's scope check (docs/tool-contract.md §3): effective access =
 * token scopes (everything in stdio) ∩ stored grant (`null` = no additional
 * restriction). A tool needs all the scopes it declares.
 */
import { Effect, Option } from "effect"
import { CurrentUser } from "../auth/CurrentUser.js"
import { ScopeCache } from "../auth/ScopeCache.js"
import { InsufficientScope, provisioningRequired } from "../domain/Errors.js"
import { storageUnavailable } from "../storage/errors.js"
import type { UserId } from "../domain/Ids.js"
import type * as Scopes from "../domain/Scope.js"
import { missing } from "../domain/Scope.js"
import { Audit } from "../provisioning/Audit.js"
import type { Grant } from "../storage/Storage.js"

/** What a call asks for: the tool being called (named in the audit log) and the scopes it declares. */
export interface ScopeCheck {
  readonly tool: string
  readonly scopes: ReadonlyArray<Scopes.Scope>
}

/**
 * Audit a refusal as `access_denied` (repeats coalesced; see {@link Audit}).
 * Optional, so embedders need no audit log for scope checks.
 */
const auditDenied = (userId: UserId, tool: string, missingScopes: ReadonlyArray<Scopes.Scope>, layer: "token" | "grant") =>
  Effect.serviceOption(Audit).pipe(
    Effect.flatMap(
      Option.match({
        onNone: () => Effect.void,
        onSome: (audit) =>
          audit.refusal(userId, {
            tool,
            reason: `${layer}:${missingScopes.join(",")}`,
            detail: { missing_scopes: missingScopes, layer }
          })
      })
    )
  )

/** "the scope notes.write", "the scopes notes.read and notes.write", "the scopes a, b and c". */
const scopesPhrase = (scopes: ReadonlyArray<string>): string =>
  scopes.length === 1
    ? `the scope ${scopes[0]}`
    : `the scopes ${scopes.slice(0, -1).join(", ")} and ${scopes[scopes.length - 1]}`

/** The caller's grant, when it covers every scope of `check` on both layers. */
export const requireScopes = ({ tool, scopes }: ScopeCheck) =>
  Effect.gen(function* () {
    const user = yield* CurrentUser
    const cache = yield* ScopeCache
    const fromToken = missing(scopes, user.tokenScopes)
    if (fromToken.length > 0) {
      yield* auditDenied(user.userId, tool, fromToken, "token")
      return yield* new InsufficientScope({
        message: `${tool} needs ${scopesPhrase(fromToken)}, which your access token does not carry. Ask your MCP client to sign in again and grant ${fromToken.length === 1 ? "it" : "them"}.`,
        missing_scopes: fromToken
      })
    }
    const grant = yield* cache.get(user.userId).pipe(Effect.catchTag("StorageError", storageUnavailable))
    if (Option.isNone(grant)) return yield* provisioningRequired()
    const fromGrant = missing(scopes, grant.value.scopes)
    if (fromGrant.length > 0) {
      yield* auditDenied(user.userId, tool, fromGrant, "grant")
      return yield* new InsufficientScope({
        message:
          `${tool} needs ${scopesPhrase(fromGrant)}, which your Nextcloud access does not include. ` +
          `To request ${fromGrant.length === 1 ? "it" : "them"}, call nc_auth_update_scopes with add_scopes: [${fromGrant.map((s) => `"${s}"`).join(", ")}] and approve the login in Nextcloud.`,
        missing_scopes: fromGrant
      })
    }
    return grant.value satisfies Grant
  })
