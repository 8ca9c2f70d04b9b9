/**
 * The pure decisions of provisioning: where a user's flow stands, whether a
 * pending flow can be shown again, whether another flow may start, and what
 * a scope change does now and what it needs a login for. No effects, so each
 * is property-tested on its own.
 */
import * as Scopes from "../domain/Scope.js"
import type { FlowPurpose, PendingFlow } from "../storage/Storage.js"

/** Scopes a grant carries or a flow requests: `null` = unrestricted. */
export type Grantable = ReadonlyArray<Scopes.Scope> | null

export const sameGrant = (a: Grantable, b: Grantable): boolean =>
  a === null || b === null ? a === b : Scopes.equals(a, b)

/** A flow counts as expired from its deadline on (Nextcloud's lifetime has no grace). */
export const isExpired = (flow: Pick<PendingFlow, "expiresAt">, now: number): boolean => now >= flow.expiresAt

/** Where the user's stored flow stands at `now`. */
export type FlowState =
  | { readonly _tag: "None" }
  | { readonly _tag: "Pending"; readonly flow: PendingFlow }
  | { readonly _tag: "Expired"; readonly flow: PendingFlow }

export const flowState = (flow: PendingFlow | null, now: number): FlowState =>
  flow === null
    ? { _tag: "None" }
    : isExpired(flow, now)
      ? { _tag: "Expired", flow }
      : { _tag: "Pending", flow }

/**
 * A request shows the pending flow again instead of starting another when
 * that flow is unexpired, was started for the same purpose (to provision, or
 * to change the scopes of a grant), and asks for exactly the same scopes.
 */
export const isReusable = (
  pending: PendingFlow,
  requested: Grantable,
  now: number,
  purpose: FlowPurpose = "provision"
): boolean => !isExpired(pending, now) && pending.purpose === purpose && sameGrant(pending.requestedScopes, requested)

/**
 * Seconds until another flow may start, or `null` when one may start now:
 * at most `limit` starts in the sliding window `(now - windowMs, now]`, so a
 * start leaves the window exactly `windowMs` after it happened.
 * `starts` are the user's start times, oldest first.
 */
export const flowStartRetryAfter = (
  starts: ReadonlyArray<number>,
  now: number,
  windowMs: number,
  limit: number
): number | null => {
  const inWindow = starts.filter((at) => at > now - windowMs && at <= now)
  if (inWindow.length < limit) return null
  // The start that must leave the window before another fits.
  const blocking = inWindow[inWindow.length - limit] ?? now
  return Math.max(1, Math.ceil((blocking + windowMs - now) / 1000))
}

/** Who a grant or an approved login is at Nextcloud. */
export interface NextcloudAccount {
  readonly loginName: string
  /** `/ocs/v2.php/cloud/user` `data.id`; null when it could not be learnt. */
  readonly ncUserId: string | null
}

/**
 * Whether a login replacing a grant comes from the grant's Nextcloud
 * account. The user id is the account's identity, so it decides when both
 * are known: one account signs in under several login names (its id in any
 * case, its email), and Nextcloud hands back whichever was typed. Without
 * both ids, the login names decide, compared regardless of case as Nextcloud
 * matches them; differing names then count as another account, since
 * refusing costs the person one more approval while accepting could hand
 * this user someone else's files.
 */
export const sameAccount = (current: NextcloudAccount, next: NextcloudAccount): boolean =>
  current.ncUserId !== null && next.ncUserId !== null
    ? current.ncUserId === next.ncUserId
    : current.loginName.toLowerCase() === next.loginName.toLowerCase()

/** A wait in words a person reads at a glance: seconds under a minute, else whole minutes rounded up. */
export const formatWait = (seconds: number): string => {
  const [count, unit] = seconds < 60 ? [Math.max(1, Math.ceil(seconds)), "second"] : [Math.ceil(seconds / 60), "minute"]
  return `${count} ${unit}${count === 1 ? "" : "s"}`
}

/** What a request to add and remove scopes does to a grant. */
export type ScopeChange =
  | { readonly _tag: "Unchanged" }
  /** It would remove every scope: refused (revoking is the way to give up access). */
  | { readonly _tag: "Empty" }
  | {
      readonly _tag: "Change"
      /** The grant asked for: the removals taken out, then the additions added. */
      readonly target: ReadonlyArray<Scopes.Scope>
      /**
       * The grant from now on: the target itself when it adds nothing the
       * grant lacks; else the grant minus the removals, until the login for
       * the additions completes. Never more than the grant had.
       */
      readonly applyNow: ReadonlyArray<Scopes.Scope>
      /** The grant changes now (something is removed). */
      readonly narrows: boolean
      /** The target adds scopes, which only a new login can grant. */
      readonly widens: boolean
    }

export const planScopeChange = (
  grant: Grantable,
  add: ReadonlyArray<Scopes.Scope>,
  remove: ReadonlyArray<Scopes.Scope>
): ScopeChange => {
  const current = Scopes.expand(grant)
  const afterRemove = Scopes.difference(current, remove)
  const target = Scopes.union(afterRemove, add)
  if (target.length === 0) return { _tag: "Empty" }
  if (Scopes.equals(target, current)) return { _tag: "Unchanged" }
  const widens = !Scopes.isSubset(target, current)
  const applyNow = widens ? afterRemove : target
  return { _tag: "Change", target, applyNow, narrows: !Scopes.equals(applyNow, current), widens }
}

/**
 * A narrowing while a scope-adding login is pending takes the removed scopes
 * out of what that login will grant, so approving it cannot bring them back.
 * `null` when there is no such login to change.
 */
export const narrowedPendingUpdate = (
  pending: PendingFlow | null,
  remove: ReadonlyArray<Scopes.Scope>,
  now: number
): PendingFlow | null =>
  pending === null || pending.purpose !== "update" || isExpired(pending, now)
    ? null
    : { ...pending, requestedScopes: Scopes.difference(Scopes.expand(pending.requestedScopes), remove) }
