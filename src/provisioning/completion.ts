/**
 * A flow's one-shot answer: the app password Nextcloud hands over exactly
 * once. It is stored before anything else is tried (verifying it, revoking
 * the password it replaces, notifying the client), so no later failure can
 * lose it; if storing fails, the just-issued password is revoked at
 * Nextcloud rather than left orphaned.
 */
import { Clock, Effect, Option, Redacted } from "effect"
import { ElicitationCompletions } from "../auth/Elicitation.js"
import { ScopeCache } from "../auth/ScopeCache.js"
import type { CompletedFlow } from "../nextcloud/LoginFlowClient.js"
import { Ocs } from "../nextcloud/Ocs.js"
import { type Grant, type PendingFlow, Storage } from "../storage/Storage.js"
import { Audit } from "./Audit.js"
import { store } from "./edges.js"
import { SettledFlows } from "./SettledFlows.js"

interface Credentials {
  readonly loginName: string
  readonly appPassword: Redacted.Redacted<string>
}

export const makeCompletion = Effect.gen(function* () {
  const storage = yield* Storage
  const ocs = yield* Ocs
  const cache = yield* ScopeCache
  const audit = yield* Audit
  const signals = yield* SettledFlows
  const completions = yield* ElicitationCompletions

  /** Revoke a password at Nextcloud; a failure is logged (true when it was revoked). */
  const revokeQuietly = (credentials: Credentials, why: string) =>
    ocs.revokeAppPassword({ loginName: credentials.loginName, appPassword: credentials.appPassword }).pipe(
      Effect.as(true),
      Effect.catchAll((error) =>
        Effect.logWarning(`app password not revoked at Nextcloud (${why})`, { tag: error._tag }).pipe(Effect.as(false))
      )
    )

  /** Verify fresh credentials and learn the Nextcloud user id; transient failures leave it unknown. */
  const verify = (credentials: Credentials) =>
    ocs.currentUser({ loginName: credentials.loginName, appPassword: credentials.appPassword }).pipe(
      Effect.map((user) => user.id as string | null),
      Effect.catchAll((error) =>
        Effect.logWarning("could not verify new app password; user id left unknown", { tag: error._tag }).pipe(
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

  /** Store what a successful poll of `flow` returned. Called with the user's lock held. */
  return Effect.fn("LoginFlows.complete")(function* (flow: PendingFlow, credentials: CompletedFlow) {
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
    yield* audit.record(flow.userId, "flow_completed", { purpose: flow.purpose })
    yield* audit.record(flow.userId, "grant_stored", { login_name: stored.loginName, scopes: stored.scopes })
    yield* Effect.logInfo("app password stored", { user: flow.userId, purpose: flow.purpose })
    const grant = yield* recordNcUserId(stored)
    if (Option.isSome(previous) && Redacted.value(previous.value.appPassword) !== Redacted.value(grant.appPassword)) {
      const revoked = yield* revokeQuietly(previous.value, "replaced by a new login")
      yield* audit.record(flow.userId, "grant_revoked", { reason: "replaced", remote_revoked: revoked })
    }
    if (flow.elicitationId !== null) yield* completions.complete(flow.elicitationId)
    yield* signals.settle(flow.userId)
    return grant
  })
})
