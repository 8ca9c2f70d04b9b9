/**
 * The Login Flow v2 state machine (docs/tool-contract.md §6): what happens to a user's
 * one stored flow.
 *
 *   start    (none | expired) → pending   stored before its URL is shown
 *   present  pending → pending | abandoned (the person declined or cancelled)
 *   poll     pending → pending | completed (the one-shot answer, stored first)
 *                     | refused  (approved by another account than the grant's it would replace)
 *   expire   pending → expired            at its 20-minute deadline, audited once
 *   abandon  pending → none               the user revoked their access
 *   narrow   pending update → pending update without the scopes just removed
 *
 * A flow ends only by completion, by the person declining, by revocation or
 * by its deadline — never by a transient failure. Every transition but
 * `present` and `expire` runs with the user's lock held (`poll` takes it
 * itself), so two callers never both consume the one-shot answer.
 */
import { Clock, Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import { Elicitation, ElicitationCompletions } from "../auth/Elicitation.js"
import { LoginCancelled, LoginDeclined, RateLimited } from "../domain/Errors.js"
import type { UserId } from "../domain/Ids.js"
import type * as Scopes from "../domain/Scope.js"
import { LoginFlowClient } from "../nextcloud/LoginFlowClient.js"
import { NextcloudConfig } from "../nextcloud/NextcloudConfig.js"
import { type FlowPurpose, type Grant, type PendingFlow, Storage } from "../storage/Storage.js"
import { Audit } from "./Audit.js"
import { makeCompletion } from "./completion.js"
import { nextcloudFailure, store } from "./edges.js"
import { flowStartRetryAfter, formatWait, type Grantable, isExpired, narrowedPendingUpdate } from "./flowRules.js"
import { ProvisioningConfig } from "./ProvisioningConfig.js"
import { SettledFlows } from "./SettledFlows.js"
import { StoredFlows } from "./StoredFlows.js"
import { UserLocks } from "./UserLocks.js"
import { type WrongAccountNotice, WrongAccountNotices } from "./WrongAccountNotices.js"

/** Outcome of one poll of one stored flow, for the tool and the background poller. */
export type PollOutcome =
  | { readonly _tag: "Completed"; readonly grant: Grant }
  | { readonly _tag: "WrongAccount"; readonly notice: WrongAccountNotice }
  | { readonly _tag: "Pending" }
  | { readonly _tag: "Expired" }
  | { readonly _tag: "Gone" }

const GONE: PollOutcome = { _tag: "Gone" }
const PENDING: PollOutcome = { _tag: "Pending" }
const EXPIRED: PollOutcome = { _tag: "Expired" }

/** What the person did with a presented flow that is still pending. */
export type Presented = "pending" | "login_required"

export const makeLoginFlows = Effect.gen(function* () {
  const storage = yield* Storage
  const loginFlow = yield* LoginFlowClient
  const completions = yield* ElicitationCompletions
  const config = yield* ProvisioningConfig
  const nc = yield* NextcloudConfig
  const audit = yield* Audit
  const signals = yield* SettledFlows
  const locks = yield* UserLocks
  const notices = yield* WrongAccountNotices
  const stored = yield* StoredFlows
  const complete = yield* makeCompletion

  /** Refused (and audited) when the user started too many flows lately. */
  const checkRateLimit = Effect.fn("LoginFlows.checkRateLimit")(function* (userId: UserId, tool: string | null) {
    const now = yield* Clock.currentTimeMillis
    const window = Duration.toMillis(config.flowStartWindow)
    const starts = yield* store(storage.flowStartsSince(userId, now - window + 1))
    const retryAfter = flowStartRetryAfter(starts, now, window, config.flowStartLimit)
    if (retryAfter === null) return
    yield* audit.refusal(userId, {
      tool,
      reason: "flow_start_rate_limit",
      detail: { reason: "flow_start_rate_limit", retry_after_seconds: retryAfter }
    })
    const pending = yield* store(storage.getFlow(userId))
    const shown = Option.isSome(pending) && !isExpired(pending.value, now)
      ? `, or finish the login already started: ${Redacted.value(pending.value.loginUrl)}`
      : "."
    const per = Duration.equals(config.flowStartWindow, Duration.hours(1)) ? "hour" : Duration.format(config.flowStartWindow)
    return yield* new RateLimited({
      message: `Too many logins started: at most ${config.flowStartLimit} per ${per} (NC_MCP_FLOW_START_LIMIT). Try again in ${formatWait(retryAfter)}${shown}`,
      retry_after_seconds: retryAfter
    })
  })

  /**
   * Start a new flow (replacing any stored one), store it, record the start.
   * Does not show it. `tool` is named in the audit log if the start is refused.
   */
  const start = Effect.fn("LoginFlows.start")(function* (
    userId: UserId,
    requestedScopes: Grantable,
    purpose: FlowPurpose,
    tool: string | null
  ) {
    yield* checkRateLimit(userId, tool)
    const initiated = yield* loginFlow.initiate.pipe(Effect.catchAll(nextcloudFailure(nc.host, "start a login flow")))
    const now = yield* Clock.currentTimeMillis
    const flow: PendingFlow = {
      userId,
      pollToken: initiated.pollToken,
      pollEndpoint: initiated.pollEndpoint,
      loginUrl: initiated.loginUrl,
      requestedScopes,
      purpose,
      elicitationId: null,
      createdAt: now,
      expiresAt: now + Duration.toMillis(config.flowLifetime)
    }
    yield* store(stored.put(flow))
    yield* store(storage.recordFlowStart(userId, now))
    yield* audit.record(userId, "flow_started", { purpose, scopes: requestedScopes })
    yield* Effect.logInfo("login flow started", { user: userId, purpose })
    return flow
  })

  /**
   * Remember which URL elicitation showed this flow, so its completion can be
   * notified. The person may take a while, so this takes the lock and acts
   * only if the flow is still the stored one: if it completed meanwhile,
   * notify now.
   */
  const attachElicitation = (flow: PendingFlow, elicitationId: string) =>
    locks.withLock(
      flow.userId,
      Effect.gen(function* () {
        const current = yield* store(storage.getFlow(flow.userId))
        if (Option.isSome(current) && current.value.createdAt === flow.createdAt) {
          return yield* store(stored.put({ ...current.value, elicitationId }))
        }
        const grant = yield* store(storage.getGrant(flow.userId))
        const completedIt = Option.isSome(grant) && grant.value.createdAt >= flow.createdAt
        yield* completedIt ? completions.complete(elicitationId) : completions.forget(elicitationId)
      })
    )

  /** The person turned the login down: the flow goes (if it is still the stored one). */
  const abandonPresented = (flow: PendingFlow, outcome: "declined" | "cancelled") =>
    Effect.gen(function* () {
      yield* store(storage.deleteFlow(flow.userId, flow.createdAt))
      yield* notices.ended(flow.userId)
      yield* audit.record(flow.userId, outcome === "declined" ? "flow_declined" : "flow_cancelled", { purpose: flow.purpose })
      yield* signals.settle(flow.userId)
      const again = flow.purpose === "update" ? "nc_auth_update_scopes" : "nc_auth_provision_access"
      return yield* outcome === "declined"
        ? new LoginDeclined({ message: `The login was declined, so nothing was granted. Call ${again} again to retry.` })
        : new LoginCancelled({ message: `The login was cancelled, so nothing was granted. Call ${again} again to retry.` })
    })

  /**
   * Show the flow's login URL. A decline or cancel abandons the flow and
   * fails with the matching tagged error. Runs without the lock: the person
   * may take a while to answer.
   */
  const present = Effect.fn("LoginFlows.present")(function* (flow: PendingFlow, message: string) {
    const elicitation = yield* Elicitation
    yield* notices.watch(flow)
    const shown = yield* elicitation.presentLoginUrl({ loginUrl: Redacted.value(flow.loginUrl), message })
    switch (shown.outcome) {
      case "declined":
      case "cancelled":
        return yield* abandonPresented(flow, shown.outcome)
      case "accepted":
        if (shown.elicitationId !== null) yield* attachElicitation(flow, shown.elicitationId)
        return "pending" satisfies Presented
      case "not_shown":
        return "login_required" satisfies Presented
    }
  })

  /** Record the flow's expiry once and wake its waiters; true when this call recorded it. */
  const expire = Effect.fn("LoginFlows.expire")(function* (flow: PendingFlow) {
    const first = yield* audit.flowExpired(flow)
    yield* signals.settle(flow.userId)
    return first
  })

  /**
   * Poll the user's stored flow once. Takes the lock and re-reads the flow
   * under it, so two pollers cannot both consume the one-shot answer. Nextcloud
   * is never asked about a flow past its deadline.
   */
  const poll = Effect.fn("LoginFlows.poll")(function* (userId: UserId) {
    return yield* locks.withLock(
      userId,
      Effect.gen(function* () {
        const flow = yield* store(storage.getFlow(userId))
        if (Option.isNone(flow)) return GONE
        if (isExpired(flow.value, yield* Clock.currentTimeMillis)) {
          yield* expire(flow.value)
          return EXPIRED
        }
        const result = yield* loginFlow
          .poll(flow.value.pollEndpoint, flow.value.pollToken)
          .pipe(Effect.catchAll(nextcloudFailure(nc.host, "check the login flow (it is still pending)")))
        if (result._tag === "Pending") return PENDING
        const completion = yield* complete(flow.value, result.credentials)
        return (completion._tag === "Stored" ? { _tag: "Completed", grant: completion.grant } : completion) satisfies PollOutcome
      })
    )
  })

  /** Drop the user's flow, if any, and what was left to report about it (lock held). True when an unexpired one was abandoned. */
  const abandon = Effect.fn("LoginFlows.abandon")(function* (userId: UserId) {
    yield* notices.ended(userId)
    const flow = yield* store(storage.getFlow(userId))
    if (Option.isNone(flow)) return false
    const now = yield* Clock.currentTimeMillis
    const removed = yield* store(storage.deleteFlow(userId))
    if (removed) yield* signals.settle(userId)
    return removed && !isExpired(flow.value, now)
  })

  /** A narrowing applied while a scope-adding login is pending: that login no longer brings `remove` back (lock held). */
  const narrowPending = Effect.fn("LoginFlows.narrowPending")(function* (
    userId: UserId,
    remove: ReadonlyArray<Scopes.Scope>,
    now: number
  ) {
    const narrowed = narrowedPendingUpdate(Option.getOrNull(yield* store(storage.getFlow(userId))), remove, now)
    if (narrowed !== null) yield* store(stored.put(narrowed))
  })

  /** The person's answer to a login URL shown by another channel (a task's input request): decline or cancel ends the flow. */
  const dismiss = (flow: PendingFlow, outcome: "declined" | "cancelled") =>
    abandonPresented(flow, outcome).pipe(Effect.catchTags({ LoginDeclined: () => Effect.void, LoginCancelled: () => Effect.void }))

  return { start, present, poll, expire, abandon, narrowPending, dismiss } as const
})

export class LoginFlows extends Context.Tag("nextcloud-mcp/LoginFlows")<
  LoginFlows,
  Effect.Effect.Success<typeof makeLoginFlows>
>() {
  static readonly layer = Layer.effect(LoginFlows, makeLoginFlows)
}
