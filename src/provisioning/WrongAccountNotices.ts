/**
 * What a login refused as coming from another Nextcloud account leaves for
 * the user to hear: `nc_auth_check_status` reports it — to a client that was
 * waiting for that login, or to the next one that asks — and then goes back
 * to the plain status. A refusal made in this process is known at once. One
 * made by another process sharing the database (its background poller took
 * the answer) is read back from the audit log, but only for a login this
 * process presented or saw pending and did not see end otherwise, so a
 * status call costs nothing extra.
 */
import { Clock, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import type { UserId } from "../domain/Ids.js"
import { Scope } from "../domain/Scope.js"
import { type AuditRecord, type PendingFlow, Storage } from "../storage/Storage.js"

/** The audit entry of a refusal: `flow_declined` with this reason and the fields of {@link WrongAccountNotice}. */
export const WRONG_ACCOUNT_REASON = "other_account"

/** Waiters of one user woken together all hear it; afterwards the plain status is reported. */
export const NOTICE_GRACE = Duration.seconds(10)

/** How far back the audit log is searched for a refusal made by another process. */
const AUDIT_LOOKBACK = 50

export const WrongAccountNotice = Schema.Struct({
  flow_created_at: Schema.Number,
  /** What the refused login would have granted. */
  scopes: Schema.NullOr(Schema.Array(Scope)),
  /** The login name the approval came from. */
  login_name: Schema.String,
  /** The login name of the grant that stayed. */
  account_login_name: Schema.String,
  remote_revoked: Schema.Boolean
})
export type WrongAccountNotice = typeof WrongAccountNotice.Type

const fromAudit = (flowCreatedAt: number) => (entry: AuditRecord) =>
  entry.event === "flow_declined" && entry.detail["reason"] === WRONG_ACCOUNT_REASON
    ? Schema.decodeUnknownOption(WrongAccountNotice)(entry.detail).pipe(
        Option.filter((notice) => notice.flow_created_at === flowCreatedAt)
      )
    : Option.none()

interface Watched {
  readonly flowCreatedAt: number
  readonly notice: WrongAccountNotice | null
  /** When a status first reported the notice. */
  readonly toldAt: number | null
}

export interface WrongAccountNoticesShape {
  /** This process showed or saw this flow pending: find out how it ended when it is gone. */
  readonly watch: (flow: PendingFlow) => Effect.Effect<void>
  /** The flow was refused here as approved by another account. */
  readonly refused: (userId: UserId, notice: WrongAccountNotice) => Effect.Effect<void>
  /** The user's flow ended here in another way (completed, declined, expired, revoked): nothing to report. */
  readonly ended: (userId: UserId) => Effect.Effect<void>
  /** The user's flow is gone: the refusal to report, if that is how it ended (within the grace once reported). */
  readonly take: (userId: UserId) => Effect.Effect<Option.Option<WrongAccountNotice>>
}

const NOTHING = Effect.succeed(Option.none<WrongAccountNotice>())

export const makeWrongAccountNotices = Effect.gen(function* () {
  const storage = yield* Storage
  const watched = new Map<UserId, Watched>()

  /** A refusal another process made, from the audit log; none when the flow ended otherwise. */
  const lookUp = (userId: UserId, flowCreatedAt: number) =>
    storage.auditLog(userId, AUDIT_LOOKBACK).pipe(
      Effect.map((entries) => Option.getOrNull(Option.firstSomeOf(entries.map(fromAudit(flowCreatedAt))))),
      Effect.catchAll((e) =>
        Effect.logWarning("could not learn how a login ended", { operation: e.operation }).pipe(Effect.as(null))
      )
    )

  // Nothing watched for the user (nearly always): answered without running the lookup below.
  const take = (userId: UserId) => (watched.has(userId) ? takeWatched(userId) : NOTHING)

  const takeWatched = (userId: UserId) =>
    Effect.gen(function* () {
      const entry = watched.get(userId)
      if (entry === undefined) return Option.none()
      const notice = entry.notice ?? (yield* lookUp(userId, entry.flowCreatedAt))
      const now = yield* Clock.currentTimeMillis
      const toldAt = entry.toldAt ?? now
      // Unchanged meanwhile (the lookup yields): a newer flow's watch wins.
      if (watched.get(userId) !== entry) return Option.none()
      if (notice === null || now - toldAt > Duration.toMillis(NOTICE_GRACE)) {
        watched.delete(userId)
        return Option.none()
      }
      watched.set(userId, { ...entry, notice, toldAt })
      return Option.some(notice)
    })

  return WrongAccountNotices.of({
    watch: (flow) =>
      Effect.sync(() => {
        if (watched.get(flow.userId)?.flowCreatedAt !== flow.createdAt) {
          watched.set(flow.userId, { flowCreatedAt: flow.createdAt, notice: null, toldAt: null })
        }
      }),
    refused: (userId, notice) =>
      Effect.sync(() => void watched.set(userId, { flowCreatedAt: notice.flow_created_at, notice, toldAt: null })),
    ended: (userId) => Effect.sync(() => void watched.delete(userId)),
    take
  })
})

export class WrongAccountNotices extends Context.Tag("nextcloud-mcp/WrongAccountNotices")<
  WrongAccountNotices,
  WrongAccountNoticesShape
>() {
  static readonly layer = Layer.effect(WrongAccountNotices, makeWrongAccountNotices)
}
