/**
 * The audit log's one writer (no secrets: scopes, reasons, login names,
 * tools). Writing is best effort: a failure is logged and never fails the
 * operation being audited.
 *
 * Refusals may repeat endlessly (a client retrying a refused call), so
 * repeats of one user, tool and reason within {@link REFUSAL_AUDIT_WINDOW}
 * are counted into one row. An expired flow stays stored for its retention
 * period and is seen again and again, so its expiry is recorded once.
 */
import { Cache, Clock, Context, Data, Duration, Effect, Layer } from "effect"
import type { UserId } from "../domain/Ids.js"
import { type AuditEvent, type FlowPurpose, type PendingFlow, Storage } from "../storage/Storage.js"
import { ProvisioningConfig } from "./ProvisioningConfig.js"

/** Refusals of one user, tool and reason within this window share one audit row, with a count. */
export const REFUSAL_AUDIT_WINDOW = Duration.minutes(1)

/** How far back the log is searched for an expiry recorded before a restart. */
const EXPIRED_LOOKBACK = 200
/** Expiries remembered in memory (beyond that the log is searched again). */
const EXPIRED_MEMORY = 10_000

export interface AuditShape {
  readonly record: (userId: UserId, event: AuditEvent, detail?: Readonly<Record<string, unknown>>) => Effect.Effect<void>
  /**
   * An `access_denied` entry for `reason`, naming the tool that was refused
   * (`null` outside a tool call), counted into the previous row of the same
   * user, tool and reason when within the window.
   */
  readonly refusal: (userId: UserId, refused: Refusal) => Effect.Effect<void>
  /**
   * Record `flow_expired` for this flow unless it already was, in this
   * process or (as the recent log shows) before a restart. True when this
   * call recorded it.
   */
  readonly flowExpired: (flow: PendingFlow) => Effect.Effect<boolean>
}

/** A refused request, as the audit log records it. */
export interface Refusal {
  /** The tool that was called; `null` outside a tool call. */
  readonly tool: string | null
  /** What coalesces repeats, together with the user and the tool. */
  readonly reason: string
  readonly detail: Readonly<Record<string, unknown>>
}

/** What identifies a flow, and what its expiry entry says. */
class ExpiredFlow extends Data.Class<{
  readonly userId: UserId
  readonly createdAt: number
  readonly purpose: FlowPurpose
}> {}

const notWritten = (event: AuditEvent) => (e: { readonly operation: string }) =>
  Effect.logWarning("audit entry not written", { event, operation: e.operation })

export const makeAudit = Effect.gen(function* () {
  const storage = yield* Storage
  const config = yield* ProvisioningConfig

  const record: AuditShape["record"] = (userId, event, detail = {}) =>
    Clock.currentTimeMillis.pipe(
      Effect.flatMap((at) => storage.audit({ at, userId, event, detail })),
      Effect.catchAll(notWritten(event))
    )

  const refusal: AuditShape["refusal"] = (userId, { tool, reason, detail }) =>
    Effect.gen(function* () {
      const at = yield* Clock.currentTimeMillis
      yield* storage.auditCoalesced(
        { at, userId, event: "access_denied", detail: tool === null ? detail : { ...detail, tool } },
        { key: JSON.stringify([tool, reason]), windowMs: Duration.toMillis(REFUSAL_AUDIT_WINDOW) }
      )
    }).pipe(Effect.catchAll(notWritten("access_denied")))

  /** True when this lookup wrote the entry; the log says whether it was written before this process started. */
  const recordExpiry = (flow: ExpiredFlow) =>
    Effect.gen(function* () {
      const recent = yield* storage.auditLog(flow.userId, EXPIRED_LOOKBACK).pipe(Effect.orElseSucceed(() => []))
      if (recent.some((e) => e.event === "flow_expired" && e.detail["flow_created_at"] === flow.createdAt)) return false
      yield* record(flow.userId, "flow_expired", { purpose: flow.purpose, flow_created_at: flow.createdAt })
      yield* Effect.logInfo("login flow expired", { user: flow.userId, purpose: flow.purpose })
      return true
    })

  // Remembered while the expired flow may still be stored: it is deleted
  // `expiredFlowRetention` after its deadline, and noted at or after that.
  // Concurrent callers for one flow share one lookup.
  const expiries = yield* Cache.make({
    capacity: EXPIRED_MEMORY,
    timeToLive: config.expiredFlowRetention,
    lookup: recordExpiry
  })

  const flowExpired: AuditShape["flowExpired"] = (flow) =>
    expiries
      .getEither(new ExpiredFlow({ userId: flow.userId, createdAt: flow.createdAt, purpose: flow.purpose }))
      // Right: this call ran the lookup; Left: an earlier (or concurrent) one did.
      .pipe(Effect.map((answer) => answer._tag === "Right" && answer.right))

  return Audit.of({ record, refusal, flowExpired })
})

export class Audit extends Context.Tag("nextcloud-mcp/Audit")<Audit, AuditShape>() {
  static readonly layer = Layer.effect(Audit, makeAudit)
}
