/**
 * Authorisation for data tools (CONTRACT §3): effective access = token scopes
 * (everything in stdio) ∩ stored grant (`null` = no additional restriction).
 */
import { Clock, Duration, Effect, HashMap, Option } from "effect"
import { InsufficientScope, ProvisioningRequired } from "../domain/Errors.js"
import * as Scopes from "../domain/Scope.js"
import type { UserId } from "../domain/Ids.js"
import { storageUnavailable } from "../storage/errors.js"
import { type Grant, Storage } from "../storage/Storage.js"
import { CurrentUser } from "./CurrentUser.js"
import { ScopeCache } from "./ScopeCache.js"

export const provisioningRequiredMessage =
  "No Nextcloud access is provisioned for you yet. Call nc_auth_provision_access and approve the login in your browser."

/** Refusals of one user, tool and reason within this window share one audit row, with a count. */
export const REFUSAL_AUDIT_WINDOW = Duration.minutes(1)

/**
 * The tool being called: the MCP adapter annotates every call's logs with it.
 * (Absent outside a tool call, e.g. in the background poller.)
 */
const currentTool = Effect.map(Effect.logAnnotations, (annotations) =>
  HashMap.get(annotations, "tool").pipe(Option.filter((tool): tool is string => typeof tool === "string"))
)

/**
 * Audit a refusal as `access_denied` (no secrets: scopes, reasons, the tool).
 * A client may retry a refused call endlessly, so repeats of the same user,
 * tool and `reason` within {@link REFUSAL_AUDIT_WINDOW} are counted into one
 * row. Best effort; optional so embedders need no Storage here.
 */
export const auditRefusal = (userId: UserId, reason: string, detail: Readonly<Record<string, unknown>>) =>
  Effect.serviceOption(Storage).pipe(
    Effect.flatMap(
      Option.match({
        onNone: () => Effect.void,
        onSome: (storage) =>
          Effect.gen(function* () {
            const at = yield* Clock.currentTimeMillis
            const tool = Option.getOrNull(yield* currentTool)
            yield* storage.auditCoalesced(
              { at, userId, event: "access_denied", detail: tool === null ? detail : { ...detail, tool } },
              { key: JSON.stringify([tool, reason]), windowMs: Duration.toMillis(REFUSAL_AUDIT_WINDOW) }
            )
          }).pipe(
            Effect.catchAll((e) => Effect.logWarning("audit entry not written", { event: "access_denied", operation: e.operation }))
          )
      })
    )
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
