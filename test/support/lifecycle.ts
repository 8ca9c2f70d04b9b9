/**
 * Fakes and layers for the credential-lifecycle unit tests: a scripted
 * Nextcloud (Login Flow v2 + OCS) that records every call, over real
 * in-memory SQLite storage, with the production Provisioning service.
 */
import { randomBytes } from "node:crypto"
import { Clock, Effect, Layer, Logger, LogLevel, Option, Redacted } from "effect"
import { CurrentUser } from "../../src/auth/CurrentUser.js"
import { Elicitation, ElicitationCompletions } from "../../src/auth/Elicitation.js"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { UserId } from "../../src/domain/Ids.js"
import { Progress } from "../../src/tools/Progress.js"
import { LoginFlowClient, type LoginFlowClientShape, type PollResult } from "../../src/nextcloud/LoginFlowClient.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import { Ocs, type OcsShape } from "../../src/nextcloud/Ocs.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import { ProvisioningConfig, type ProvisioningConfigShape } from "../../src/provisioning/ProvisioningConfig.js"
import * as StorageLayers from "../../src/storage/layer.js"
import { type AuditEntry, Storage, StorageError } from "../../src/storage/Storage.js"
import { NextcloudProtocolError, NextcloudTransportError, NextcloudUnauthorized } from "../../src/nextcloud/errors.js"

export const HOST = "https://cloud.test"

/** What one poll of a flow answers. */
export type PollStep = "pending" | "5xx" | "timeout" | "malformed" | { readonly completed: string }

export interface RecordedPoll {
  readonly token: string
  readonly at: number
  readonly step: PollStep
}

export interface RecordedCall {
  readonly loginName: string
  readonly appPassword: string
  readonly at: number
}

/**
 * A scripted Nextcloud. Each flow answers the steps queued for it, then
 * "pending". A completed answer is one-shot, as in Nextcloud: afterwards the
 * flow only answers pending (404).
 */
export const makeFakeNextcloud = () => {
  const tokens: Array<string> = []
  const queues = new Map<string, Array<PollStep>>()
  const consumed = new Set<string>()
  const polls: Array<RecordedPoll> = []
  const revoked: Array<RecordedCall> = []
  const whoami: Array<RecordedCall> = []
  const state = {
    /** "down": revoke fails as unreachable; "error": 503. */
    revoke: "ok" as "ok" | "down" | "error",
    /** Answer of GET /cloud/user. */
    currentUser: "ok" as "ok" | "unauthorized" | "down"
  }

  const loginFlow: LoginFlowClientShape = {
    initiate: Effect.sync(() => {
      const n = tokens.length
      const token = `poll-${n}-${randomBytes(6).toString("hex")}`
      tokens.push(token)
      return {
        loginUrl: Redacted.make(`${HOST}/login/v2/flow/login-${n}`),
        pollEndpoint: `${HOST}/login/v2/poll`,
        pollToken: Redacted.make(token)
      }
    }),
    poll: (_endpoint, pollToken) =>
      Effect.gen(function* () {
        const token = Redacted.value(pollToken)
        const at = yield* Clock.currentTimeMillis
        const queue = queues.get(token) ?? []
        const step: PollStep = consumed.has(token) ? "pending" : (queue.shift() ?? "pending")
        polls.push({ token, at, step })
        if (step === "pending") return { _tag: "Pending" } satisfies PollResult
        if (step === "5xx")
          return yield* new NextcloudProtocolError({ operation: "poll", status: 503, detail: "Service Unavailable" })
        if (step === "malformed")
          return yield* new NextcloudProtocolError({ operation: "poll", status: 200, detail: "malformed body" })
        if (step === "timeout") return yield* new NextcloudTransportError({ operation: "poll", reason: "timeout", cause: null })
        consumed.add(token)
        return {
          _tag: "Completed",
          credentials: { server: HOST, loginName: "alice@example.org", appPassword: Redacted.make(step.completed) }
        } satisfies PollResult
      })
  }

  const ocs: OcsShape = {
    currentUser: (credentials) =>
      Effect.gen(function* () {
        const at = yield* Clock.currentTimeMillis
        whoami.push({ loginName: credentials.loginName, appPassword: Redacted.value(credentials.appPassword), at })
        if (state.currentUser === "unauthorized") return yield* new NextcloudUnauthorized({ operation: "currentUser" })
        if (state.currentUser === "down")
          return yield* new NextcloudTransportError({ operation: "currentUser", reason: "unreachable", cause: null })
        return { id: "alice", displayName: "Alice" }
      }),
    revokeAppPassword: (credentials) =>
      Effect.gen(function* () {
        const at = yield* Clock.currentTimeMillis
        const call = { loginName: credentials.loginName, appPassword: Redacted.value(credentials.appPassword), at }
        if (state.revoke === "down")
          return yield* new NextcloudTransportError({ operation: "revokeAppPassword", reason: "unreachable", cause: null })
        if (state.revoke === "error")
          return yield* new NextcloudProtocolError({ operation: "revokeAppPassword", status: 503, detail: "Service Unavailable" })
        revoked.push(call)
      })
  }

  return {
    loginFlow,
    ocs,
    state,
    /** Poll tokens of the flows started so far, in order. */
    tokens,
    polls,
    revoked,
    whoami,
    /** Queue answers for the n-th flow started (0-based; -1 = the latest). */
    script: (flow: number, ...steps: ReadonlyArray<PollStep>) => {
      const token = flow < 0 ? tokens[tokens.length + flow] : tokens[flow]
      if (token === undefined) throw new Error(`no flow ${flow}`)
      queues.set(token, [...(queues.get(token) ?? []), ...steps])
    },
    pollsOf: (flow: number) => polls.filter((p) => p.token === tokens[flow < 0 ? tokens.length + flow : flow])
  }
}

export type FakeNextcloud = ReturnType<typeof makeFakeNextcloud>

export const ALICE = UserId.make("alice-local")

export const memoryStorage = () =>
  StorageLayers.layer({ filename: ":memory:", key: Redacted.make(new Uint8Array(randomBytes(32))) })

/** Storage whose `completeFlow` always fails, over a working one. */
export const failingCompleteFlow = <E, R>(inner: Layer.Layer<Storage, E, R>) =>
  Layer.effect(
    Storage,
    Effect.map(Storage, (storage) => ({
      ...storage,
      completeFlow: () => Effect.fail(new StorageError({ operation: "completeFlow", cause: "disk full" }))
    }))
  ).pipe(Layer.provide(inner))

/** Provisioning over the fake Nextcloud and the given storage (default: fresh in-memory SQLite). */
export const lifecycleLayer = <E = never>(
  fake: FakeNextcloud,
  config: Partial<ProvisioningConfigShape> = {},
  storage: Layer.Layer<Storage, E> = memoryStorage() as unknown as Layer.Layer<Storage, E>
) => {
  const base = Layer.mergeAll(
    ScopeCache.layer(),
    ElicitationCompletions.layer,
    ProvisioningConfig.layer(config),
    NextcloudConfig.make(HOST),
    Layer.succeed(LoginFlowClient, fake.loginFlow),
    Layer.succeed(Ocs, fake.ocs)
  ).pipe(Layer.provideMerge(storage))
  return Provisioning.layer.pipe(Layer.provideMerge(base), Layer.merge(Logger.minimumLogLevel(LogLevel.None)))
}

/** The per-request services of a stdio caller without elicitation, recording progress. */
export const requestLayer = (progress: Array<{ progress: number; total: number | undefined; message: string }> = []) =>
  Layer.mergeAll(
    Layer.succeed(CurrentUser, { userId: ALICE, tokenScopes: null }),
    Elicitation.none,
    Layer.succeed(Progress, {
      report: (p, total, message) => Effect.sync(() => void progress.push({ progress: p, total, message }))
    })
  )

export const auditOf = (userId: UserId = ALICE): Effect.Effect<ReadonlyArray<AuditEntry>, StorageError, Storage> =>
  Effect.flatMap(Storage, (s) => s.auditLog(userId, 1000))

export const eventsOf = (userId: UserId = ALICE) =>
  Effect.map(auditOf(userId), (entries) => entries.map((e) => e.event).reverse())

export const grantOf = (userId: UserId = ALICE) =>
  Effect.flatMap(Storage, (s) => s.getGrant(userId)).pipe(Effect.map(Option.getOrNull))

export const flowOf = (userId: UserId = ALICE) =>
  Effect.flatMap(Storage, (s) => s.getFlow(userId)).pipe(Effect.map(Option.getOrNull))
