/**
 * The rows of the storage tables: the AADs binding each ciphertext to its
 * row and field, the row schemas (the same columns on SQLite and PostgreSQL;
 * only how the driver hands some columns over differs, see
 * ./statements.ts), the mapping between rows and domain values over a
 * `Cipher`, and the "undecryptable reads as absent" rule.
 */
import { Effect, Option, Schema } from "effect"
import { UserId } from "../domain/Ids.js"
import type { Scope } from "../domain/Scope.js"
import type { CipherError, CipherShape } from "./Cipher.js"
import {
  type AuditEntry,
  type AuditEvent,
  type AuditRecord,
  type AuditRepeat,
  type FlowPurpose,
  type Grant,
  type PendingFlow
} from "./Storage.js"

// ---------------------------------------------------------------------------
// AAD: which row and field a ciphertext belongs to (same on every backend, so
// ciphertexts are portable between them)

export const aad = {
  appPassword: (userId: UserId) => `grant:app_password:${userId}`,
  pollToken: (userId: UserId) => `flow:poll_token:${userId}`,
  loginUrl: (userId: UserId) => `flow:login_url:${userId}`
}

// ---------------------------------------------------------------------------
// Row schemas

export const FLOW_PURPOSES = ["provision", "update"] as const satisfies ReadonlyArray<FlowPurpose>

export const AUDIT_EVENTS = [
  "flow_started",
  "flow_completed",
  "flow_expired",
  "flow_declined",
  "flow_cancelled",
  "grant_stored",
  "grant_narrowed",
  "grant_revoked",
  "grant_stale",
  "access_denied",
  "orphan_revoked"
] as const satisfies ReadonlyArray<AuditEvent>
// Fails to compile when Storage.ts gains an event missing above.
const _allAuditEvents: ReadonlyArray<(typeof AUDIT_EVENTS)[number]> = [] as ReadonlyArray<AuditEvent>
void _allAuditEvents

/** How a backend's driver hands over (and takes) the columns whose encoding differs. */
export interface ColumnCodecs<MI, SI, DI> {
  /** Epoch-ms times. */
  readonly millis: Schema.Schema<number, MI>
  /** Scopes: NULL = unrestricted. */
  readonly scopes: Schema.Schema<ReadonlyArray<Scope> | null, SI>
  /** Audit details. */
  readonly detail: Schema.Schema<{ readonly [x: string]: unknown }, DI>
}

/** The row schemas over a backend's column encodings. */
export const rowSchemas = <MI, SI, DI>(columns: ColumnCodecs<MI, SI, DI>) => ({
  GrantRow: Schema.Struct({
    user_id: UserId,
    login_name: Schema.String,
    nc_user_id: Schema.NullOr(Schema.String),
    app_password_enc: Schema.String,
    scopes: columns.scopes,
    created_at: columns.millis,
    updated_at: columns.millis
  }),
  FlowRow: Schema.Struct({
    user_id: UserId,
    poll_token_enc: Schema.String,
    poll_endpoint: Schema.String,
    login_url_enc: Schema.String,
    requested_scopes: columns.scopes,
    purpose: Schema.Literal(...FLOW_PURPOSES),
    elicitation_id: Schema.NullOr(Schema.String),
    created_at: columns.millis,
    expires_at: columns.millis
  }),
  AuditRow: Schema.Struct({
    at: columns.millis,
    user_id: UserId,
    event: Schema.Literal(...AUDIT_EVENTS),
    detail: columns.detail
  }),
  /** An audit row as read back (`last_at` selected as `COALESCE(last_at, at)`). */
  AuditRecordRow: Schema.Struct({
    at: columns.millis,
    user_id: UserId,
    event: Schema.Literal(...AUDIT_EVENTS),
    detail: columns.detail,
    count: Schema.Union(Schema.Number, Schema.NumberFromString),
    last_at: columns.millis
  }),
  AtRow: Schema.Struct({ at: columns.millis })
})

type Rows = ReturnType<typeof rowSchemas>
export type GrantRow = Rows["GrantRow"]["Type"]
export type FlowRow = Rows["FlowRow"]["Type"]
export type AuditRow = Rows["AuditRow"]["Type"]
export type AuditRecordRow = Rows["AuditRecordRow"]["Type"]

export const KeyRow = Schema.Struct({ user_id: UserId })

export const auditEntryToRow = (entry: AuditEntry): AuditRow => ({
  at: entry.at,
  user_id: entry.userId,
  event: entry.event,
  detail: entry.detail
})

export const auditRecordFromRow = (row: AuditRecordRow): AuditRecord => ({
  at: row.at,
  userId: row.user_id,
  event: row.event,
  detail: row.detail,
  count: row.count,
  lastAt: row.last_at
})

/** The row of the first entry of a coalesced series: the key and the start of its window identify the series. */
export const coalescedAuditRow = (entry: AuditEntry, repeat: AuditRepeat) => {
  const windowMs = Math.max(1, Math.floor(repeat.windowMs))
  return {
    ...auditEntryToRow(entry),
    repeat_key: repeat.key,
    repeat_window: Math.floor(entry.at / windowMs) * windowMs
  }
}

// ---------------------------------------------------------------------------
// Rows <-> domain values

/**
 * A stored value whose secret no configured key decrypts reads as absent,
 * with a warning naming the user and what was unreadable (never the value).
 */
export const absentIfUndecryptable =
  (what: "grant" | "pending login flow", userId: UserId) =>
  <A>(decrypted: Effect.Effect<A, CipherError>): Effect.Effect<Option.Option<A>> =>
    decrypted.pipe(
      Effect.asSome,
      Effect.catchAll((e) =>
        Effect.logWarning(
          `The stored ${what} of this user cannot be decrypted with the configured encryption keys; treating it as absent, so the user is asked to provision again (if the key was changed, add the old one to NC_MCP_PREVIOUS_ENCRYPTION_KEYS)`
        ).pipe(Effect.annotateLogs({ user: userId, reason: e.reason }), Effect.as(Option.none<A>()))
      )
    )

/** Encrypting rows from domain values and decrypting them back, with `cipher`. */
export const rowCodec = (cipher: CipherShape) => {
  const grantToRow = (grant: Grant): Effect.Effect<GrantRow> =>
    Effect.map(cipher.encrypt(grant.appPassword, aad.appPassword(grant.userId)), (app_password_enc) => ({
      user_id: grant.userId,
      login_name: grant.loginName,
      nc_user_id: grant.ncUserId,
      app_password_enc,
      scopes: grant.scopes,
      created_at: grant.createdAt,
      updated_at: grant.updatedAt
    }))

  const grantFromRow = (row: GrantRow): Effect.Effect<Grant, CipherError> =>
    Effect.map(cipher.decrypt(row.app_password_enc, aad.appPassword(row.user_id)), (appPassword) => ({
      userId: row.user_id,
      loginName: row.login_name,
      ncUserId: row.nc_user_id,
      appPassword,
      scopes: row.scopes,
      createdAt: row.created_at,
      updatedAt: row.updated_at
    }))

  const flowToRow = (flow: PendingFlow): Effect.Effect<FlowRow> =>
    Effect.map(
      Effect.all([
        cipher.encrypt(flow.pollToken, aad.pollToken(flow.userId)),
        cipher.encrypt(flow.loginUrl, aad.loginUrl(flow.userId))
      ]),
      ([poll_token_enc, login_url_enc]) => ({
        user_id: flow.userId,
        poll_token_enc,
        poll_endpoint: flow.pollEndpoint,
        login_url_enc,
        requested_scopes: flow.requestedScopes,
        purpose: flow.purpose,
        elicitation_id: flow.elicitationId,
        created_at: flow.createdAt,
        expires_at: flow.expiresAt
      })
    )

  const flowFromRow = (row: FlowRow): Effect.Effect<PendingFlow, CipherError> =>
    Effect.map(
      Effect.all([
        cipher.decrypt(row.poll_token_enc, aad.pollToken(row.user_id)),
        cipher.decrypt(row.login_url_enc, aad.loginUrl(row.user_id))
      ]),
      ([pollToken, loginUrl]) => ({
        userId: row.user_id,
        pollToken,
        pollEndpoint: row.poll_endpoint,
        loginUrl,
        requestedScopes: row.requested_scopes,
        purpose: row.purpose,
        elicitationId: row.elicitation_id,
        createdAt: row.created_at,
        expiresAt: row.expires_at
      })
    )

  /** The user's grant from its row, if any; absent (with a warning naming the user) when it does not decrypt. */
  const readGrant = (userId: UserId, row: Option.Option<GrantRow>): Effect.Effect<Option.Option<Grant>> =>
    Option.isSome(row) ? absentIfUndecryptable("grant", userId)(grantFromRow(row.value)) : Effect.succeedNone

  /** The user's flow from its row, if any; absent (with a warning naming the user) when it does not decrypt. */
  const readFlow = (userId: UserId, row: Option.Option<FlowRow>): Effect.Effect<Option.Option<PendingFlow>> =>
    Option.isSome(row)
      ? absentIfUndecryptable("pending login flow", userId)(flowFromRow(row.value))
      : Effect.succeedNone

  /** A replaced/deleted grant whose secret cannot be decrypted is reported as absent. */
  const previousGrant = (operation: string) => (row: Option.Option<GrantRow>) =>
    Option.match(row, {
      onNone: () => Effect.succeedNone,
      onSome: (r) =>
        grantFromRow(r).pipe(
          Effect.asSome,
          Effect.catchAll((e) =>
            Effect.logWarning("Replaced grant could not be decrypted; reporting it as absent").pipe(
              Effect.annotateLogs({ operation, reason: e.reason }),
              Effect.as(Option.none<Grant>())
            )
          )
        )
    })

  /** Decrypt rows, leaving out (with a warning) those whose secrets no longer decrypt. */
  const readableFlows = (rows: ReadonlyArray<FlowRow>) =>
    Effect.map(
      Effect.forEach(rows, (row) =>
        flowFromRow(row).pipe(
          Effect.asSome,
          Effect.catchAll((e) =>
            Effect.logWarning("Skipping a pending login flow whose secrets cannot be decrypted").pipe(
              Effect.annotateLogs({ reason: e.reason }),
              Effect.as(Option.none<PendingFlow>())
            )
          )
        )
      ),
      (flows) => flows.flatMap(Option.toArray)
    )

  return { grantToRow, grantFromRow, flowToRow, flowFromRow, readGrant, readFlow, previousGrant, readableFlows }
}
