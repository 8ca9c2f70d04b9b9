/**
 * A flow's one-shot answer: the app password Nextcloud hands over exactly
 * once. A first grant is stored before anything else is tried (verifying
 * it, notifying the client), so no later failure can lose it; if storing
 * fails, the just-issued password is revoked at Nextcloud rather than left
 * orphaned.
 *
 * A login that replaces a grant must come from the grant's Nextcloud
 * account, so its user id is learnt first (the grant it replaces stays in
 * force meanwhile). Approved by another account, it changes nothing: its
 * password is revoked at Nextcloud, the refusal is audited, and the user is
 * told ({@link WrongAccountNotices}). Otherwise it is stored, and the
 * password it replaced is revoked.
 */
import { Clock, Effect, Option, Redacted } from "effect"
import { ElicitationCompletions } from "../auth/Elicitation.js"
import { ScopeCache } from "../auth/ScopeCache.js"
import type { CompletedFlow } from "../nextcloud/LoginFlowClient.js"
import { Ocs } from "../nextcloud/Ocs.js"
import { type Grant, type PendingFlow, Storage } from "../storage/Storage.js"
import { Audit } from "./Audit.js"
import { store } from "./edges.js"
import { sameAccount } from "./flowRules.js"
import { SettledFlows } from "./SettledFlows.js"
import { WRONG_ACCOUNT_REASON, type WrongAccountNotice, WrongAccountNotices } from "./WrongAccountNotices.js"

interface Credentials {
  readonly loginName: string
  readonly appPassword: Redacted.Redacted<string>
}

/** What a flow's answer came to. */
export type Completion =
  | { readonly _tag: "Stored"; readonly grant: Grant }
  | { readonly _tag: "WrongAccount"; readonly notice: WrongAccountNotice }

export const makeCompletion = Effect.gen(function* () {
  const storage = yield* Storage
  const ocs = yield* Ocs
  const cache = yield* ScopeCache
  const audit = yield* Audit
  const signals = yield* SettledFlows
  const completions = yield* ElicitationCompletions
  const notices = yield* WrongAccountNotices

  /** Revoke a password at Nextcloud; a failure is logged (true when it was revoked). */
  const revokeQuietly = (credentials: Credentials, why: string) =>
    ocs.revokeAppPassword({ loginName: credentials.loginName, appPassword: credentials.appPassword }).pipe(
      Effect.as(true),
      Effect.catchAll((error) =>
        Effect.logWarning(`app password not revoked at Nextcloud (${why})`, { tag: error._tag }).pipe(Effect.as(false))
      )
    )

  /** Verify credentials and learn their Nextcloud user id; failures leave it unknown. */
  const verify = (credentials: Credentials) =>
    ocs.currentUser({ loginName: credentials.loginName, appPassword: credentials.appPassword }).pipe(
      Effect.map((user) => user.id as string | null),
      Effect.catchAll((error) =>
        Effect.logWarning("could not verify an app password; its user id is left unknown", { tag: error._tag }).pipe(
          Effect.as(null)
        )
      )
    )

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

  /** The flow and its answer are done: tell whoever waits, and the URL elicitation that showed it. */
  const settle = (flow: PendingFlow) =>
    Effect.gen(function* () {
      if (flow.elicitationId !== null) yield* completions.complete(flow.elicitationId)
      yield* signals.settle(flow.userId)
    })

  /** Approved by another account than the grant's: keep the grant, revoke the new password, audit, tell. */
  const refuse = (flow: PendingFlow, current: Grant, credentials: Credentials) =>
    Effect.gen(function* () {
      const revoked = yield* revokeQuietly(credentials, "approved by another Nextcloud account")
      yield* store(storage.deleteFlow(flow.userId, flow.createdAt))
      const notice: WrongAccountNotice = {
        flow_created_at: flow.createdAt,
        scopes: flow.requestedScopes,
        login_name: credentials.loginName,
        account_login_name: current.loginName,
        remote_revoked: revoked
      }
      yield* audit.record(flow.userId, "flow_declined", { purpose: flow.purpose, reason: WRONG_ACCOUNT_REASON, ...notice })
      yield* Effect.logWarning("login approved by another Nextcloud account; the current access stays", {
        user: flow.userId,
        purpose: flow.purpose
      })
      yield* notices.refused(flow.userId, notice)
      yield* settle(flow)
      return { _tag: "WrongAccount", notice } satisfies Completion
    })

  /** Store what a successful poll of `flow` returned. Called with the user's lock held. */
  return Effect.fn("LoginFlows.complete")(function* (flow: PendingFlow, credentials: CompletedFlow) {
    const current = Option.getOrNull(yield* store(storage.getGrant(flow.userId)))
    // Learnt before storing only when it decides whether to store at all.
    const ncUserId = current === null ? null : yield* verify(credentials)
    if (current !== null) {
      const currentId = current.ncUserId ?? (yield* verify(current))
      if (!sameAccount({ ...current, ncUserId: currentId }, { loginName: credentials.loginName, ncUserId })) {
        return yield* refuse(flow, current, credentials)
      }
    }
    const now = yield* Clock.currentTimeMillis
    const stored: Grant = {
      userId: flow.userId,
      loginName: credentials.loginName,
      ncUserId,
      appPassword: credentials.appPassword,
      scopes: flow.requestedScopes,
      createdAt: now,
      updatedAt: now
    }
    const previous = yield* store(
      storage.completeFlow(stored, flow.createdAt).pipe(
        Effect.tapError(() =>
          revokeQuietly(credentials, "storing it failed").pipe(
            Effect.flatMap((revoked) => audit.record(flow.userId, "orphan_revoked", { remote_revoked: revoked }))
          )
        )
      )
    )
    yield* cache.invalidate(flow.userId)
    yield* notices.ended(flow.userId)
    yield* audit.record(flow.userId, "flow_completed", { purpose: flow.purpose })
    yield* audit.record(flow.userId, "grant_stored", { login_name: stored.loginName, scopes: stored.scopes })
    yield* Effect.logInfo("app password stored", { user: flow.userId, purpose: flow.purpose })
    // One look-up per login: a replacement's was made before storing.
    const grant = current === null ? yield* recordNcUserId(stored) : stored
    if (Option.isSome(previous) && Redacted.value(previous.value.appPassword) !== Redacted.value(grant.appPassword)) {
      const revoked = yield* revokeQuietly(previous.value, "replaced by a new login")
      yield* audit.record(flow.userId, "grant_revoked", { reason: "replaced", remote_revoked: revoked })
    }
    yield* settle(flow)
    return { _tag: "Stored", grant } satisfies Completion
  })
})
