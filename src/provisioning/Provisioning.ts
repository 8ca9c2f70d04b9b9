/**
 * What the auth tools ask of provisioning (docs/tool-contract.md §6):
 * provision, report the status, wait for a login, narrow or widen scopes,
 * revoke, and forget a password Nextcloud no longer accepts. Built from named
 * parts: the flow state machine ({@link LoginFlows}), the pure decisions
 * (`flowRules.ts`), the audit log ({@link Audit}), settled-flow signals
 * ({@link SettledFlows}), the stored flows with what is known of their
 * absence ({@link StoredFlows}) and per-user locks ({@link UserLocks});
 * {@link Provisioning.layer} provides them all.
 *
 * Invariants:
 * - a pending flow is stored before the login URL is shown, so a crash or a
 *   slow elicitation loses nothing;
 * - a flow ends only by completion, by the person declining, or by its
 *   20-minute deadline — never by a transient failure;
 * - the one-shot poll result is stored before anything else can fail; if
 *   storing fails, the just-issued app password is revoked at Nextcloud.
 */
import { Clock, Context, type Duration, Effect, Layer, Option, Redacted } from "effect"
import { ScopeCache } from "../auth/ScopeCache.js"
import { InvalidScopes, LoginWrongAccount, NextcloudError, ProvisioningRequired, provisioningRequired } from "../domain/Errors.js"
import type { UserId } from "../domain/Ids.js"
import * as Scopes from "../domain/Scope.js"
import { NextcloudConfig } from "../nextcloud/NextcloudConfig.js"
import { Ocs } from "../nextcloud/Ocs.js"
import { type Grant, type PendingFlow, Storage } from "../storage/Storage.js"
import { Audit } from "./Audit.js"
import { store } from "./edges.js"
import { storageUnavailable } from "../storage/errors.js"
import { tracedFn } from "../log/spans.js"
import { flowState, type Grantable, isReusable, planScopeChange } from "./flowRules.js"
import { LoginFlows } from "./LoginFlows.js"
import { SettledFlows } from "./SettledFlows.js"
import { StoredFlows } from "./StoredFlows.js"
import { UserLocks } from "./UserLocks.js"
import { describeNextcloudFailure } from "../nextcloud/errors.js"
import { WaitingPolls } from "./WaitingPolls.js"
import { type WrongAccountNotice, WrongAccountNotices } from "./WrongAccountNotices.js"

export type { Grantable } from "./flowRules.js"
export type { PollOutcome } from "./LoginFlows.js"

export type ProvisionResult =
  | { readonly status: "already_provisioned"; readonly grant: Grant }
  | {
      readonly status: "login_required" | "pending"
      readonly loginUrl: string
      readonly requestedScopes: Grantable
      /** true when an unexpired flow with the same scopes was shown again instead of starting another. */
      readonly reused: boolean
    }

export type StatusResult =
  | {
      readonly status: "provisioned"
      readonly grant: Grant
      readonly justCompleted: boolean
      /** A login that will add scopes, still waiting for approval (the grant stays in force meanwhile). */
      readonly pendingUpdate: PendingFlow | null
    }
  | { readonly status: "pending"; readonly flow: PendingFlow }
  | { readonly status: "not_initiated"; readonly expired: boolean }

export type UpdateResult =
  | { readonly status: "unchanged"; readonly previous: Grantable; readonly next: Grantable }
  | { readonly status: "updated"; readonly previous: Grantable; readonly next: ReadonlyArray<Scopes.Scope> }
  | {
      readonly status: "login_required" | "pending"
      readonly previous: Grantable
      readonly next: ReadonlyArray<Scopes.Scope>
      /** Scopes in force until the new login completes (removals apply at once); `previous` itself when nothing was removed. */
      readonly interim: Grantable
      readonly loginUrl: string
    }

/**
 * Where one login (a flow, named by its user and start time) stands, for the
 * task that follows it: still pending (with the URL to open, and whether the
 * person has already answered it), completed (a grant at least as new as the
 * flow), ended without a grant before its deadline (declined, cancelled or
 * replaced), or past its deadline.
 */
export type LoginState =
  | { readonly _tag: "Pending"; readonly loginUrl: string; readonly answered: boolean; readonly expiresAt: number }
  | { readonly _tag: "Completed" }
  | { readonly _tag: "Ended" }
  | { readonly _tag: "Expired" }

/** Marks a flow whose URL a task's client showed and the person accepted (no completion notification to send). */
export const ANSWERED_BY_TASK = "task"

export type RevokeResult =
  | { readonly status: "not_provisioned"; readonly flowCancelled: boolean }
  | { readonly status: "revoked"; readonly remoteRevoked: boolean; readonly remoteFailure: string | null }

/** Without a pending flow: provisioned if there is a grant, else not initiated (saying whether one expired). */
const settledStatus = (grant: Option.Option<Grant>, expired: boolean, justCompleted = false): StatusResult =>
  Option.isSome(grant)
    ? { status: "provisioned", grant: grant.value, justCompleted, pendingUpdate: null }
    : { status: "not_initiated", expired }

/** What a person needs to hear when an approval came from another Nextcloud account than their access's. */
const wrongAccountMessage = (notice: WrongAccountNotice, grant: Grant | null) => {
  const approvedAs = `"${notice.login_name}"`
  const account = `"${notice.account_login_name}"`
  const kept = grant === null ? "" : ` You still have the access of ${account} (scopes: ${Scopes.format(grant.scopes)}).`
  const password = notice.remote_revoked
    ? "The app password that approval created was revoked at Nextcloud."
    : `The app password that approval created could not be revoked at Nextcloud: remove it under Settings → Security while signed in as ${approvedAs}.`
  return (
    `The login was approved in Nextcloud as ${approvedAs}, but this access belongs to the Nextcloud account ${account}, so the approval was not used. Nothing changed.${kept} ${password} ` +
    `To get ${Scopes.format(notice.scopes)}, call nc_auth_update_scopes again and approve while signed in to Nextcloud as ${account} (sign out of ${approvedAs} first, or open the link in a private window).`
  )
}

const makeProvisioning = Effect.gen(function* () {
  const storage = yield* Storage
  const ocs = yield* Ocs
  const cache = yield* ScopeCache
  const nc = yield* NextcloudConfig
  const flows = yield* LoginFlows
  const audit = yield* Audit
  const signals = yield* SettledFlows
  const locks = yield* UserLocks
  const notices = yield* WrongAccountNotices
  const waiting = yield* WaitingPolls
  const storedFlows = yield* StoredFlows

  /** `tool`: the tool asking, named in the audit log when the request is refused. */
  const provision = Effect.fn("Provisioning.provision")(function* (
    userId: UserId,
    requestedScopes: Grantable,
    tool: string | null = null
  ) {
    const decided = yield* locks.withLock(
      userId,
      Effect.gen(function* () {
        const existing = yield* store(storage.getGrant(userId))
        if (Option.isSome(existing)) return { _tag: "Provisioned" as const, grant: existing.value }
        const now = yield* Clock.currentTimeMillis
        const pending = yield* store(storage.getFlow(userId))
        if (Option.isSome(pending) && isReusable(pending.value, requestedScopes, now)) {
          return { _tag: "Flow" as const, flow: pending.value, reused: true }
        }
        return { _tag: "Flow" as const, flow: yield* flows.start(userId, requestedScopes, "provision", tool), reused: false }
      })
    )
    if (decided._tag === "Provisioned") {
      return { status: "already_provisioned", grant: decided.grant } satisfies ProvisionResult
    }
    const loginUrl = Redacted.value(decided.flow.loginUrl)
    const status = yield* flows.present(
      decided.flow,
      `Open this link to let this assistant use your Nextcloud (${Scopes.format(requestedScopes)}):\n${loginUrl}`
    )
    return { status, loginUrl, requestedScopes, reused: decided.reused } satisfies ProvisionResult
  })

  /**
   * The user's flow is gone: if it was refused as approved by another
   * account, say so (once, to everyone waiting); else `otherwise`.
   */
  const unlessRefused = <E>(userId: UserId, otherwise: Effect.Effect<StatusResult, E>) =>
    Effect.flatMap(
      notices.take(userId),
      (refused): Effect.Effect<StatusResult, E | Effect.Effect.Error<ReturnType<typeof refusedAs>>> =>
        Option.isNone(refused) ? otherwise : refusedAs(userId, refused.value)
    )

  const refusedAs = (userId: UserId, notice: WrongAccountNotice) =>
    Effect.flatMap(store(storage.getGrant(userId)), (grant) =>
      Effect.fail(new LoginWrongAccount({ message: wrongAccountMessage(notice, Option.getOrNull(grant)) }))
    )

  // The path clients call most: a span only when tracing (log/spans.ts).
  // Storage failures anywhere in it are answered as `store` answers them, caught once.
  const statusOf = Effect.fnUntraced(function* (userId: UserId) {
    // Both from memory for a user without a login in progress: the cache is invalidated on
    // every grant change and the absence of a flow is forgotten when one is stored, in this
    // process and in others.
    const grant = yield* cache.get(userId)
    const stored = flowState(Option.getOrNull(yield* storedFlows.get(userId)), yield* Clock.currentTimeMillis)
    switch (stored._tag) {
      case "None":
        return yield* unlessRefused(userId, Effect.succeed(settledStatus(grant, false)))
      case "Expired":
        // Kept until its retention ends, so this keeps saying "expired".
        yield* notices.ended(userId)
        yield* flows.expire(stored.flow)
        return settledStatus(grant, true)
      case "Pending":
        yield* notices.watch(stored.flow)
        break
    }
    const outcome = yield* flows.poll(userId)
    switch (outcome._tag) {
      case "Completed":
        return settledStatus(Option.some(outcome.grant), false, true)
      case "Pending":
        // A scope update in progress: the current grant stays in force meanwhile.
        return Option.isSome(grant)
          ? ({ status: "provisioned", grant: grant.value, justCompleted: false, pendingUpdate: stored.flow } satisfies StatusResult)
          : ({ status: "pending", flow: stored.flow } satisfies StatusResult)
      case "Expired":
        return settledStatus(grant, true)
      case "WrongAccount":
      case "Gone":
        // Refused just now, or ended by another caller while we waited for the lock.
        return yield* unlessRefused(
          userId,
          store(storage.getGrant(userId)).pipe(Effect.map((current) => settledStatus(current, false, true)))
        )
    }
  })
  const status = tracedFn("Provisioning.status")((userId: UserId) =>
    statusOf(userId).pipe(Effect.catchTag("StorageError", storageUnavailable))
  )

  /**
   * Wait up to `wait` (never past the flow's deadline) for the user's pending
   * flow to stop being pending, polling it about once a second meanwhile and
   * reporting progress every second. True when it is no longer pending.
   */
  const awaitCompletion = (
    userId: UserId,
    wait: Duration.Duration,
    onTick: (elapsed: Duration.Duration) => Effect.Effect<void>
  ) => waiting.whileWaiting(userId, store(signals.awaitSettled(userId, wait, onTick)))

  const updateScopes = Effect.fn("Provisioning.updateScopes")(function* (
    userId: UserId,
    add: ReadonlyArray<Scopes.Scope>,
    remove: ReadonlyArray<Scopes.Scope>,
    tool: string | null = null
  ) {
    const decided = yield* locks.withLock(
      userId,
      Effect.gen(function* () {
        const found = yield* store(storage.getGrant(userId))
        if (Option.isNone(found)) return yield* provisioningRequired()
        const previous = found.value.scopes
        const change = planScopeChange(previous, add, remove)
        switch (change._tag) {
          case "Empty":
            return yield* new InvalidScopes({
              message: "That would remove every scope. To give up access entirely, call nc_auth_revoke_access.",
              invalid_scopes: []
            })
          case "Unchanged":
            return { status: "unchanged", previous, next: previous } as const
          case "Change":
            break
        }
        const now = yield* Clock.currentTimeMillis
        // The new login starts first: if it cannot (rate limit, Nextcloud down),
        // nothing has changed when the error is reported. Asking again for the
        // same scopes shows the pending login again.
        const pending = Option.getOrNull(yield* store(storage.getFlow(userId)))
        const flow = !change.widens
          ? null
          : pending !== null && isReusable(pending, change.target, now, "update")
            ? pending
            : yield* flows.start(userId, change.target, "update", tool)
        if (change.narrows) {
          yield* store(storage.updateScopes(userId, change.applyNow, now))
          yield* cache.invalidate(userId)
          yield* audit.record(userId, "grant_narrowed", { from: previous, to: change.applyNow })
          if (flow === null) yield* flows.narrowPending(userId, remove, now)
        }
        if (flow === null) return { status: "updated", previous, next: change.target } as const
        // `previous` itself when nothing was removed: the tool tells the two apart by identity.
        const interim = change.narrows ? change.applyNow : previous
        return { status: "flow", previous, next: change.target, interim, flow } as const
      })
    )
    if (decided.status !== "flow") return decided satisfies UpdateResult
    const loginUrl = Redacted.value(decided.flow.loginUrl)
    const shown = yield* flows.present(
      decided.flow,
      `Adding ${Scopes.difference(decided.next, Scopes.expand(decided.interim)).join(", ")} needs a new approval in Nextcloud. Open this link:\n${loginUrl}`
    )
    return {
      status: shown,
      previous: decided.previous,
      next: decided.next,
      interim: decided.interim,
      loginUrl
    } satisfies UpdateResult
  })

  const revoke = Effect.fn("Provisioning.revoke")(function* (userId: UserId) {
    return yield* locks.withLock(
      userId,
      Effect.gen(function* () {
        const flowCancelled = yield* flows.abandon(userId)
        const found = yield* store(storage.getGrant(userId))
        if (Option.isNone(found)) {
          return { status: "not_provisioned", flowCancelled } satisfies RevokeResult
        }
        const grant = found.value
        const remote = yield* ocs.revokeAppPassword({ loginName: grant.loginName, appPassword: grant.appPassword }).pipe(
          Effect.as(null),
          Effect.catchAll((error) =>
            Effect.logWarning("app password not revoked at Nextcloud", { tag: error._tag }).pipe(
              Effect.as(describeNextcloudFailure(nc.host, "revoke the app password", error).message)
            )
          )
        )
        yield* store(storage.deleteGrant(userId, grant.createdAt))
        yield* cache.invalidate(userId)
        yield* audit.record(userId, "grant_revoked", { reason: "requested", remote_revoked: remote === null })
        return { status: "revoked", remoteRevoked: remote === null, remoteFailure: remote } satisfies RevokeResult
      })
    )
  })

  /**
   * Nextcloud answered 401 to this grant's app password: it was revoked or has
   * expired. Forget it (unless it was replaced meanwhile) and ask for a new login.
   */
  const reportUnauthorized = Effect.fn("Provisioning.reportUnauthorized")(function* (grant: Grant) {
    const deleted = yield* store(storage.deleteGrant(grant.userId, grant.createdAt))
    yield* cache.invalidate(grant.userId)
    if (Option.isSome(deleted)) {
      yield* audit.record(grant.userId, "grant_stale", { login_name: grant.loginName })
      yield* Effect.logWarning("stored app password rejected by Nextcloud; removed", { user: grant.userId })
    } else if (Option.isSome(yield* store(storage.getGrant(grant.userId)))) {
      // The rejected password had already been replaced by a newer login: that one may work.
      return yield* new NextcloudError({
        message: "Your Nextcloud access was renewed while this call was running; call the tool again."
      })
    }
    return yield* new ProvisioningRequired({
      message:
        "Nextcloud no longer accepts the stored app password (it was revoked or has expired), so it was removed. Call nc_auth_provision_access to sign in again."
    })
  })

  /** Where the user's login started at `createdAt` stands (see {@link LoginState}); nothing is polled or changed. */
  const loginState = Effect.fn("Provisioning.loginState")(function* (userId: UserId, createdAt: number, expiresAt: number) {
    const now = yield* Clock.currentTimeMillis
    // From the scope cache, as `status` reads it: invalidated on every grant change, in this process and others.
    const grant = yield* store(cache.get(userId))
    if (Option.isSome(grant) && grant.value.createdAt >= createdAt) return { _tag: "Completed" } satisfies LoginState
    if (now >= expiresAt) return { _tag: "Expired" } satisfies LoginState
    const flow = yield* store(storedFlows.get(userId))
    if (Option.isSome(flow) && flow.value.createdAt === createdAt) {
      return {
        _tag: "Pending",
        loginUrl: Redacted.value(flow.value.loginUrl),
        answered: flow.value.elicitationId !== null,
        expiresAt: flow.value.expiresAt
      } satisfies LoginState
    }
    return { _tag: "Ended" } satisfies LoginState
  })

  /** The user's pending login, if any: what a task follows. */
  const pendingLogin = Effect.fn("Provisioning.pendingLogin")(function* (userId: UserId) {
    const flow = yield* store(storedFlows.get(userId))
    return Option.map(flow, (f) => ({ createdAt: f.createdAt, expiresAt: f.expiresAt }))
  })

  /**
   * The person's answer to the login started at `createdAt`, given through a
   * task: accepting marks it answered; declining or cancelling ends it (as a
   * declined elicitation does). A login that is no longer that one is left alone.
   */
  const answerLogin = Effect.fn("Provisioning.answerLogin")(function* (
    userId: UserId,
    createdAt: number,
    answer: "accept" | "decline" | "cancel"
  ) {
    const flow = yield* locks.withLock(
      userId,
      Effect.gen(function* () {
        const current = yield* store(storage.getFlow(userId))
        if (Option.isNone(current) || current.value.createdAt !== createdAt) return null
        if (answer === "accept" && current.value.elicitationId === null) {
          yield* store(storedFlows.put({ ...current.value, elicitationId: ANSWERED_BY_TASK }))
        }
        return current.value
      })
    )
    if (flow !== null && answer !== "accept") yield* flows.dismiss(flow, answer === "decline" ? "declined" : "cancelled")
  })

  return { provision, status, awaitCompletion, updateScopes, revoke, reportUnauthorized, loginState, pendingLogin, answerLogin } as const
})

/**
 * The flow state machine, what it is built on (the audit log, settled-flow
 * signals, stored flows, per-user locks, refusal notices) and the polls for
 * waiting clients.
 */
const parts = WaitingPolls.layer.pipe(
  Layer.provideMerge(LoginFlows.layer),
  Layer.provideMerge(Layer.mergeAll(Audit.layer, SettledFlows.layer, StoredFlows.layer(), UserLocks.layer, WrongAccountNotices.layer))
)

export class Provisioning extends Context.Tag("nextcloud-mcp/Provisioning")<
  Provisioning,
  Effect.Effect.Success<typeof makeProvisioning>
>() {
  /** Provisioning together with its parts (the poller drives {@link LoginFlows}; scope checks audit through {@link Audit}). */
  static readonly layer = Layer.effect(Provisioning, makeProvisioning).pipe(Layer.provideMerge(parts))
}
