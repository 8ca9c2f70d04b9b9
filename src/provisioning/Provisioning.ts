/**
 * The provisioning flows (seed: auth_tools.py; CONTRACT §5): start a Login
 * Flow v2, notice its completion, store the app password with the requested
 * scopes, narrow or widen scopes, revoke.
 *
 * Invariants:
 * - a pending flow is stored before the login URL is shown, so a crash or a
 *   slow elicitation loses nothing;
 * - a flow ends only by completion, by the person declining, or by its
 *   20-minute deadline — never by a transient failure;
 * - the one-shot poll result is stored before anything else can fail; if
 *   storing fails, the just-issued app password is revoked at Nextcloud.
 */
import { Clock, Context, Duration, Effect, Layer, Option, PubSub, Queue, Redacted, Schedule } from "effect"
import { Elicitation } from "../auth/Elicitation.js"
import { ElicitationCompletions } from "../auth/Elicitation.js"
import { GrantChanges } from "../storage/GrantChanges.js"
import { storageUnavailable } from "../storage/errors.js"
import { ScopeCache } from "../auth/ScopeCache.js"
import { auditRefusal, provisioningRequiredMessage } from "../auth/Policy.js"
import {
  InvalidScopes,
  LoginCancelled,
  LoginDeclined,
  NextcloudError,
  NextcloudUnreachable,
  ProvisioningRequired,
  RateLimited
} from "../domain/Errors.js"
import { describeNextcloudFailure } from "../domain/edge.js"
import type { UserId } from "../domain/Ids.js"
import * as Scopes from "../domain/Scope.js"
import type { CompletedFlow, NextcloudProtocolError, NextcloudTransportError } from "../nextcloud/LoginFlowClient.js"
import { LoginFlowClient } from "../nextcloud/LoginFlowClient.js"
import { NextcloudConfig } from "../nextcloud/NextcloudConfig.js"
import { Ocs } from "../nextcloud/Ocs.js"
import { type AuditEvent, type FlowPurpose, type Grant, type PendingFlow, Storage } from "../storage/Storage.js"
import { ProvisioningConfig } from "./ProvisioningConfig.js"
import { UserLocks } from "./UserLocks.js"

export type Grantable = ReadonlyArray<Scopes.Scope> | null

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
      /** Scopes in force until the new login completes (removals apply at once). */
      readonly interim: Grantable
      readonly loginUrl: string
    }

export type RevokeResult =
  | { readonly status: "not_provisioned"; readonly flowCancelled: boolean }
  | { readonly status: "revoked"; readonly remoteRevoked: boolean; readonly remoteFailure: string | null }

/** Outcome of one poll of one stored flow, for the tool and the background poller. */
export type PollOutcome =
  | { readonly _tag: "Completed"; readonly grant: Grant }
  | { readonly _tag: "Pending" }
  | { readonly _tag: "Expired" }
  | { readonly _tag: "Gone" }

export class Provisioning extends Context.Tag("nextcloud-mcp/Provisioning")<
  Provisioning,
  Effect.Effect.Success<typeof makeProvisioning>
>() {
  static readonly layer = Layer.scoped(
    Provisioning,
    Effect.suspend(() => makeProvisioning)
  )
}

const makeProvisioning = Effect.gen(function* () {
  const storage = yield* Storage
  const loginFlow = yield* LoginFlowClient
  const ocs = yield* Ocs
  const cache = yield* ScopeCache
  const completions = yield* ElicitationCompletions
  const config = yield* ProvisioningConfig
  const nc = yield* NextcloudConfig
  const locks = yield* UserLocks.make
  /**
   * A user whose flow stopped being pending (completed, expired, abandoned or
   * revoked) is published here, so `awaitCompletion` wakes at once.
   */
  const settled = yield* PubSub.unbounded<UserId>()
  // A login completed (or a grant changed) in another process sharing the
  // database also ends a wait here; drop the cached grant first so the waiter
  // reads the new one.
  const changes = yield* GrantChanges
  yield* changes.subscribe({
    onChange: (userId) => Effect.zipRight(cache.forget(userId), PubSub.publish(settled, userId)),
    onReset: Effect.void
  })

  const store = <A>(effect: Effect.Effect<A, { readonly _tag: "StorageError"; readonly operation: string; readonly cause: unknown }>) =>
    effect.pipe(Effect.catchTag("StorageError", storageUnavailable))

  const audit = (userId: UserId, event: AuditEvent, detail: Record<string, unknown> = {}) =>
    Clock.currentTimeMillis.pipe(
      Effect.flatMap((at) => storage.audit({ at, userId, event, detail })),
      Effect.catchAll((e) => Effect.logWarning("audit entry not written", { event, operation: e.operation }))
    )

  const ncFailure = (action: string) => (error: NextcloudTransportError | NextcloudProtocolError) =>
    Effect.logWarning(`Nextcloud failure: ${action}`, { tag: error._tag, detail: "detail" in error ? error.detail : error.reason }).pipe(
      Effect.zipRight(Effect.fail(describeNextcloudFailure(nc.host, action, error)))
    )

  const checkRateLimit = Effect.fn("Provisioning.checkRateLimit")(function* (userId: UserId) {
    const now = yield* Clock.currentTimeMillis
    const window = Duration.toMillis(config.flowStartWindow)
    // A sliding window (now - window, now]: a start leaves it exactly one window later.
    const starts = yield* store(storage.flowStartsSince(userId, now - window + 1))
    if (starts.length >= config.flowStartLimit) {
      // The start that must leave the window before another fits.
      const blocking = starts[starts.length - config.flowStartLimit] ?? now
      const retryAfter = Math.max(1, Math.ceil((blocking + window - now) / 1000))
      yield* auditRefusal(userId, "flow_start_rate_limit", { reason: "flow_start_rate_limit", retry_after_seconds: retryAfter })
      const pending = yield* store(storage.getFlow(userId))
      const shown = Option.isSome(pending) && pending.value.expiresAt > now
        ? `, or finish the login already started: ${Redacted.value(pending.value.loginUrl)}`
        : "."
      return yield* new RateLimited({
        message: `Too many login flows started (at most ${config.flowStartLimit} per ${Duration.format(config.flowStartWindow)}). Try again in ${retryAfter} second${retryAfter === 1 ? "" : "s"}${shown}`,
        retry_after_seconds: retryAfter
      })
    }
  })

  /** Start a new flow, store it, record the start. Does not show it. */
  const startFlow = Effect.fn("Provisioning.startFlow")(function* (
    userId: UserId,
    requestedScopes: Grantable,
    purpose: FlowPurpose
  ) {
    yield* checkRateLimit(userId)
    const initiated = yield* loginFlow.initiate.pipe(Effect.catchAll(ncFailure("start a login flow")))
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
    yield* store(storage.putFlow(flow))
    yield* store(storage.recordFlowStart(userId, now))
    yield* audit(userId, "flow_started", { purpose, scopes: requestedScopes })
    yield* Effect.logInfo("login flow started", { user: userId, purpose })
    return flow
  })

  /**
   * Show the flow's login URL. A decline or cancel abandons the flow (when it
   * is still the stored one) and fails with the matching tagged error.
   */
  const present = Effect.fn("Provisioning.present")(function* (flow: PendingFlow, message: string) {
    const elicitation = yield* Elicitation
    const loginUrl = Redacted.value(flow.loginUrl)
    const shown = yield* elicitation.presentLoginUrl({ loginUrl, message })
    switch (shown.outcome) {
      case "declined":
      case "cancelled": {
        yield* store(storage.deleteFlow(flow.userId, flow.createdAt))
        yield* audit(flow.userId, shown.outcome === "declined" ? "flow_declined" : "flow_cancelled", { purpose: flow.purpose })
        yield* PubSub.publish(settled, flow.userId)
        const again = flow.purpose === "update" ? "nc_auth_update_scopes" : "nc_auth_provision_access"
        return yield* shown.outcome === "declined"
          ? new LoginDeclined({ message: `The login was declined, so nothing was granted. Call ${again} again to retry.` })
          : new LoginCancelled({ message: `The login was cancelled, so nothing was granted. Call ${again} again to retry.` })
      }
      case "accepted": {
        if (shown.elicitationId !== null) yield* attachElicitation(flow, shown.elicitationId)
        return "pending" as const
      }
      case "not_shown":
        return "login_required" as const
    }
  })

  /**
   * Remember which URL elicitation showed this flow, so its completion can be
   * notified. The person may take a while, so this runs under the lock and only
   * if the flow is still the stored one: if it completed meanwhile, notify now.
   */
  const attachElicitation = (flow: PendingFlow, elicitationId: string) =>
    locks.withLock(
      flow.userId,
      Effect.gen(function* () {
        const current = yield* store(storage.getFlow(flow.userId))
        if (Option.isSome(current) && current.value.createdAt === flow.createdAt) {
          yield* store(storage.putFlow({ ...current.value, elicitationId }))
          return
        }
        const grant = yield* store(storage.getGrant(flow.userId))
        if (Option.isSome(grant) && grant.value.createdAt >= flow.createdAt) {
          yield* completions.complete(elicitationId)
        } else {
          yield* completions.forget(elicitationId)
        }
      })
    )

  const provision = Effect.fn("Provisioning.provision")(function* (userId: UserId, requestedScopes: Grantable) {
    const decided = yield* locks.withLock(
      userId,
      Effect.gen(function* () {
        const existing = yield* store(storage.getGrant(userId))
        if (Option.isSome(existing)) return { _tag: "Provisioned" as const, grant: existing.value }
        const now = yield* Clock.currentTimeMillis
        const pending = yield* store(storage.getFlow(userId))
        if (
          Option.isSome(pending) &&
          pending.value.expiresAt > now &&
          pending.value.purpose === "provision" &&
          sameGrant(pending.value.requestedScopes, requestedScopes)
        ) {
          return { _tag: "Flow" as const, flow: pending.value, reused: true }
        }
        return { _tag: "Flow" as const, flow: yield* startFlow(userId, requestedScopes, "provision"), reused: false }
      })
    )
    if (decided._tag === "Provisioned") {
      return { status: "already_provisioned", grant: decided.grant } satisfies ProvisionResult
    }
    const loginUrl = Redacted.value(decided.flow.loginUrl)
    const status = yield* present(
      decided.flow,
      `Open this link to let this assistant use your Nextcloud (${Scopes.format(requestedScopes)}):\n${loginUrl}`
    )
    return {
      status,
      loginUrl,
      requestedScopes,
      reused: decided.reused
    } satisfies ProvisionResult
  })

  /** Verify fresh credentials and learn the Nextcloud user id; transient failures leave it unknown. */
  const verify = (credentials: { readonly loginName: string; readonly appPassword: Redacted.Redacted<string> }) =>
    ocs.currentUser({ loginName: credentials.loginName, appPassword: credentials.appPassword }).pipe(
      Effect.map((user) => user.id as string | null),
      Effect.catchAll((error) =>
        Effect.logWarning("could not verify new app password; user id left unknown", { tag: error._tag }).pipe(
          Effect.as(null)
        )
      )
    )

  const revokeQuietly = (grant: { readonly loginName: string; readonly appPassword: Redacted.Redacted<string> }, why: string) =>
    ocs.revokeAppPassword({ loginName: grant.loginName, appPassword: grant.appPassword }).pipe(
      Effect.as(true),
      Effect.catchAll((error) =>
        Effect.logWarning(`app password not revoked at Nextcloud (${why})`, { tag: error._tag }).pipe(Effect.as(false))
      )
    )

  /**
   * Store what a successful poll returned. Called with the user's lock held.
   * The one-shot answer is stored first; only then is anything else tried
   * (verification, revoking the replaced password, notifications), so no
   * later failure can lose it. If storing fails, the just-issued password is
   * revoked at Nextcloud rather than left orphaned.
   */
  const complete = Effect.fn("Provisioning.complete")(function* (flow: PendingFlow, credentials: CompletedFlow) {
    const now = yield* Clock.currentTimeMillis
    const stored: Grant = {
      userId: flow.userId,
      loginName: credentials.loginName,
      ncUserId: null,
      appPassword: credentials.appPassword,
      scopes: flow.requestedScopes,
      createdAt: now,
      updatedAt: now
    }
    const previous = yield* storage.completeFlow(stored, flow.createdAt).pipe(
      Effect.tapError(() =>
        revokeQuietly(credentials, "storing it failed").pipe(
          Effect.tap((revoked) => audit(flow.userId, "orphan_revoked", { remote_revoked: revoked }))
        )
      ),
      Effect.catchTag("StorageError", storageUnavailable)
    )
    yield* cache.invalidate(flow.userId)
    yield* audit(flow.userId, "flow_completed", { purpose: flow.purpose })
    yield* audit(flow.userId, "grant_stored", { login_name: stored.loginName, scopes: stored.scopes })
    yield* Effect.logInfo("app password stored", { user: flow.userId, purpose: flow.purpose })
    const grant = yield* recordNcUserId(stored)
    if (Option.isSome(previous) && Redacted.value(previous.value.appPassword) !== Redacted.value(grant.appPassword)) {
      const revoked = yield* revokeQuietly(previous.value, "replaced by a new login")
      yield* audit(flow.userId, "grant_revoked", { reason: "replaced", remote_revoked: revoked })
    }
    if (flow.elicitationId !== null) yield* completions.complete(flow.elicitationId)
    yield* PubSub.publish(settled, flow.userId)
    return grant
  })

  /** Verify the stored grant once and keep its Nextcloud user id; failures leave it unknown (logged). */
  const recordNcUserId = (grant: Grant) =>
    Effect.gen(function* () {
      const ncUserId = yield* verify(grant)
      if (ncUserId === null) return grant
      const at = yield* Clock.currentTimeMillis
      const saved = yield* storage.setNcUserId(grant.userId, ncUserId, at, grant.createdAt).pipe(
        Effect.catchAll((e) =>
          Effect.logWarning("Nextcloud user id not stored", { operation: e.operation }).pipe(Effect.as(false))
        )
      )
      if (!saved) return grant
      yield* cache.invalidate(grant.userId)
      return { ...grant, ncUserId, updatedAt: at } satisfies Grant
    })

  /** Flows already audited as expired (`userId\0createdAt` → expiresAt), so each is audited once. */
  const expiredNoted = new Map<string, number>()
  const EXPIRED_LOOKBACK = 200

  /**
   * Audit `flow_expired` once per flow. The flow itself stays stored until its
   * retention ends, so `check_status` keeps saying it expired. After a
   * restart the recent audit log tells whether it was already recorded.
   * Called with the user's lock held.
   */
  const noteExpiredLocked = (flow: PendingFlow) =>
    Effect.gen(function* () {
      const key = `${flow.userId}\u0000${flow.createdAt}`
      if (expiredNoted.has(key)) return false
      const recent = yield* storage.auditLog(flow.userId, EXPIRED_LOOKBACK).pipe(Effect.orElseSucceed(() => []))
      const already = recent.some((e) => e.event === "flow_expired" && e.detail["flow_created_at"] === flow.createdAt)
      if (!already) {
        yield* audit(flow.userId, "flow_expired", { purpose: flow.purpose, flow_created_at: flow.createdAt })
        yield* Effect.logInfo("login flow expired", { user: flow.userId, purpose: flow.purpose })
      }
      const now = yield* Clock.currentTimeMillis
      const horizon = now - Duration.toMillis(config.expiredFlowRetention)
      if (expiredNoted.size > 10_000) {
        for (const [k, expiresAt] of expiredNoted) if (expiresAt < horizon) expiredNoted.delete(k)
      }
      expiredNoted.set(key, flow.expiresAt)
      yield* PubSub.publish(settled, flow.userId)
      return !already
    })

  /** The flow passed its deadline: audit it once (true when this call did). */
  const noteExpired = Effect.fn("Provisioning.noteExpired")(function* (flow: PendingFlow) {
    return yield* locks.withLock(flow.userId, noteExpiredLocked(flow))
  })

  /**
   * Poll the user's stored flow once. Serialised per user, and re-reads the
   * flow under the lock so two pollers cannot both consume the one-shot answer.
   */
  const pollFlow = Effect.fn("Provisioning.pollFlow")(function* (userId: UserId) {
    return yield* locks.withLock(
      userId,
      Effect.gen(function* () {
        const flow = yield* store(storage.getFlow(userId))
        if (Option.isNone(flow)) return { _tag: "Gone" } as PollOutcome
        const now = yield* Clock.currentTimeMillis
        if (now >= flow.value.expiresAt) {
          yield* noteExpiredLocked(flow.value)
          return { _tag: "Expired" } as PollOutcome
        }
        const result = yield* loginFlow
          .poll(flow.value.pollEndpoint, flow.value.pollToken)
          .pipe(Effect.catchAll(ncFailure("check the login flow (it is still pending)")))
        if (result._tag === "Pending") return { _tag: "Pending" } as PollOutcome
        return { _tag: "Completed", grant: yield* complete(flow.value, result.credentials) } as PollOutcome
      })
    )
  })

  /** Without a pending flow: provisioned if there is a grant, else not initiated (saying whether one expired). */
  const settledStatus = (grant: Option.Option<Grant>, expired: boolean, justCompleted = false): StatusResult =>
    Option.isSome(grant)
      ? { status: "provisioned", grant: grant.value, justCompleted, pendingUpdate: null }
      : { status: "not_initiated", expired }

  const status = Effect.fn("Provisioning.status")(function* (userId: UserId) {
    // The cache is invalidated on every grant change, so this is current; it spares
    // a query and a decryption on the path clients call most.
    const grant = yield* store(cache.get(userId))
    const flow = yield* store(storage.getFlow(userId))
    if (Option.isNone(flow)) return settledStatus(grant, false)
    const now = yield* Clock.currentTimeMillis
    if (now >= flow.value.expiresAt) {
      // Kept until its retention ends, so this keeps saying "expired".
      yield* noteExpired(flow.value)
      return settledStatus(grant, true)
    }
    const outcome = yield* pollFlow(userId)
    switch (outcome._tag) {
      case "Completed":
        return settledStatus(Option.some(outcome.grant), false, true)
      case "Pending":
        // A scope update in progress: the current grant stays in force meanwhile.
        return Option.isSome(grant)
          ? ({ status: "provisioned", grant: grant.value, justCompleted: false, pendingUpdate: flow.value } satisfies StatusResult)
          : ({ status: "pending", flow: flow.value } satisfies StatusResult)
      case "Expired":
        return settledStatus(grant, true)
      case "Gone":
        // Completed (or abandoned) by another caller while we waited for the lock.
        return settledStatus(yield* store(storage.getGrant(userId)), false, true)
    }
  })

  /**
   * Wait up to `wait` (and never past the flow's deadline) for the user's
   * pending flow to stop being pending, woken by whoever completes, expires or
   * abandons it; reports progress every second. True when it is no longer
   * pending. Interrupting the caller ends the wait at once.
   */
  const awaitCompletion = Effect.fn("Provisioning.awaitCompletion")(function* (
    userId: UserId,
    wait: Duration.Duration,
    onTick: (elapsed: Duration.Duration) => Effect.Effect<void>
  ) {
    const subscription = yield* PubSub.subscribe(settled)
    // It may have settled between the caller's last look and the subscription.
    const flow = yield* store(storage.getFlow(userId))
    if (Option.isNone(flow)) return true
    const start = yield* Clock.currentTimeMillis
    const untilDeadline = flow.value.expiresAt - start
    if (untilDeadline <= 0) return true
    const mine = Queue.take(subscription).pipe(Effect.repeat({ until: (u) => u === userId }), Effect.asVoid)
    const ticker = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* onTick(Duration.millis(now - start))
    }).pipe(Effect.repeat(Schedule.spaced("1 second")), Effect.asVoid)
    const waitMillis = Math.min(Duration.toMillis(wait), untilDeadline)
    return yield* Effect.raceFirst(mine.pipe(Effect.as(true)), Effect.zipRight(ticker, Effect.never).pipe(Effect.as(false))).pipe(
      Effect.timeoutTo({
        duration: Duration.millis(waitMillis),
        // Reaching the deadline ends the flow: say so rather than "still pending".
        onTimeout: () => waitMillis === untilDeadline,
        onSuccess: (done) => done
      })
    )
  }, Effect.scoped)

  /**
   * A narrowing while a scope-adding login is still pending: take the removed
   * scopes out of what that login will grant, so approving it cannot bring
   * them back.
   */
  const narrowPendingUpdate = (userId: UserId, remove: ReadonlyArray<Scopes.Scope>, now: number) =>
    Effect.gen(function* () {
      const pending = yield* store(storage.getFlow(userId))
      if (Option.isNone(pending) || pending.value.purpose !== "update" || pending.value.expiresAt <= now) return
      const requested = Scopes.difference(Scopes.expand(pending.value.requestedScopes), remove)
      yield* store(storage.putFlow({ ...pending.value, requestedScopes: requested }))
    })

  const updateScopes = Effect.fn("Provisioning.updateScopes")(function* (
    userId: UserId,
    add: ReadonlyArray<Scopes.Scope>,
    remove: ReadonlyArray<Scopes.Scope>
  ) {
    const decided = yield* locks.withLock(
      userId,
      Effect.gen(function* () {
        const found = yield* store(storage.getGrant(userId))
        if (Option.isNone(found)) {
          return yield* new ProvisioningRequired({ message: provisioningRequiredMessage })
        }
        const grant = found.value
        const current = Scopes.expand(grant.scopes)
        const afterRemove = Scopes.difference(current, remove)
        const target = Scopes.union(afterRemove, add)
        if (target.length === 0) {
          return yield* new InvalidScopes({
            message: "That would remove every scope. To give up access entirely, call nc_auth_revoke_access.",
            invalid_scopes: []
          })
        }
        if (Scopes.equals(target, current)) {
          return { status: "unchanged", previous: grant.scopes, next: grant.scopes } as const
        }
        const widening = !Scopes.isSubset(target, current)
        // The new login starts first: if it cannot (rate limit, Nextcloud down),
        // nothing has changed when the error is reported.
        const flow = widening ? yield* startFlow(userId, target, "update") : null
        const narrowed = !Scopes.equals(afterRemove, current)
        if (narrowed) {
          const now = yield* Clock.currentTimeMillis
          yield* store(storage.updateScopes(userId, afterRemove, now))
          yield* cache.invalidate(userId)
          yield* audit(userId, "grant_narrowed", { from: grant.scopes, to: afterRemove })
          if (flow === null) yield* narrowPendingUpdate(userId, remove, now)
        }
        if (flow === null) {
          return { status: "updated", previous: grant.scopes, next: target } as const
        }
        return {
          status: "flow",
          previous: grant.scopes,
          next: target,
          interim: narrowed ? afterRemove : grant.scopes,
          flow
        } as const
      })
    )
    if (decided.status !== "flow") return decided satisfies UpdateResult
    const loginUrl = Redacted.value(decided.flow.loginUrl)
    const shown = yield* present(
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
        const flow = yield* store(storage.getFlow(userId))
        const now = yield* Clock.currentTimeMillis
        const flowRemoved = Option.isSome(flow) && (yield* store(storage.deleteFlow(userId)))
        if (flowRemoved) yield* PubSub.publish(settled, userId)
        const flowCancelled = flowRemoved && Option.isSome(flow) && flow.value.expiresAt > now
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
        yield* audit(userId, "grant_revoked", { reason: "requested", remote_revoked: remote === null })
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
      yield* audit(grant.userId, "grant_stale", { login_name: grant.loginName })
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

  return {
    provision,
    status,
    pollFlow,
    noteExpired,
    awaitCompletion,
    updateScopes,
    revoke,
    reportUnauthorized
  } as const
})

const sameGrant = (a: Grantable, b: Grantable) => (a === null || b === null ? a === b : Scopes.equals(a, b))
