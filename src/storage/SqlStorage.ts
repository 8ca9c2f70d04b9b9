/**
 * `Storage` over a migrated `SqlClient`: SQLite (./SqliteStorage.ts, one
 * file shared by local processes) or PostgreSQL (./PgStorage.ts, replicas
 * sharing one database). The statements and where the dialects differ are
 * in ./statements.ts; opening, migrating and per-backend limits in the
 * backend files.
 *
 * - Same tables and columns on both (./migrations), secrets stored only as
 *   `Cipher` ciphertexts bound to their row and field (AAD
 *   `grant:app_password:<userId>`, `flow:poll_token:<userId>`,
 *   `flow:login_url:<userId>`), so rows can move between the backends.
 * - Replacing a grant (`putGrant`, `completeFlow`) returns exactly the grant
 *   it overwrote, so the caller can revoke its app password; `completeFlow`
 *   deletes the flow in the same transaction. On SQLite every transaction
 *   that returns a previous value starts with its write (`DELETE …
 *   RETURNING`), see ./statements.ts. Flows are upserted with `INSERT … ON
 *   CONFLICT … DO UPDATE`, which clears any lease.
 * - A grant or flow whose secret no configured key decrypts (e.g. the key
 *   changed without `NC_MCP_PREVIOUS_ENCRYPTION_KEYS`) is reported absent,
 *   with a warning naming the user: `getGrant`/`getFlow` return none, a
 *   replaced or deleted grant is reported absent, listings and claims skip
 *   it. The user is asked to provision again; the row stays until replaced.
 * - `claimFlows` is one `UPDATE … RETURNING` over the oldest claimable rows
 *   (two processes never lease the same row), returned oldest first.
 * - `auditLog` returns entries newest first. `auditCoalesced` is one
 *   `INSERT … ON CONFLICT … DO UPDATE` on the unique index of the series
 *   (user, event, key, window), so processes sharing the database never
 *   lose a count.
 * - `reencryptAll` reads each secret column in user-id order (outside any
 *   transaction) and rewrites a batch in one transaction of compare-and-set
 *   updates, so it can run while other processes keep serving (and on
 *   SQLite the transaction starts with a write).
 * - Errors carry the operation and a reduced cause (./errors.ts): never row
 *   values or statement parameters.
 * - Each method is a span `Storage.<method>` with the backend as
 *   `db.system` (`sqlite` or `postgresql`) when a tracer is on.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { UserId } from "../domain/Ids.js"
import type { Scope } from "../domain/Scope.js"
import { tracedFn } from "../log/spans.js"
import { Cipher } from "./Cipher.js"
import { storageError } from "./errors.js"
import { reencryptAll as reencryptWith, sqlReencryptBackend } from "./reencrypt.js"
import { auditEntryToRow, auditRecordFromRow, coalescedAuditRow, rowCodec } from "./rows.js"
import { byAge, statements } from "./statements.js"
import { type AuditEntry, type AuditRepeat, type Grant, type PendingFlow, Storage, type StorageShape } from "./Storage.js"

/** The `StorageShape` over the ambient `SqlClient` (schema already migrated). */
export const make: Effect.Effect<StorageShape, never, SqlClient.SqlClient | Cipher> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const cipher = yield* Cipher
  const rows = rowCodec(cipher)
  const db = statements(sql)
  const span = { attributes: { "db.system": sql.onDialectOrElse({ pg: () => "postgresql", orElse: () => "sqlite" }) } }
  // Spans only when tracing: `getFlow` and `getGrant` are on the hot path (log/spans.ts).
  const spanned = (name: string) => tracedFn(name, span)

  const getGrant = spanned("Storage.getGrant")(Effect.fnUntraced(
    function* (userId: UserId) {
      return yield* rows.readGrant(userId, yield* db.findGrant(userId))
    },
    Effect.mapError(storageError("getGrant"))
  ))

  const putGrant = spanned("Storage.putGrant")(Effect.fnUntraced(
    function* (grant: Grant) {
      const row = yield* rows.grantToRow(grant)
      const previous = yield* db.replaceGrant(row).pipe(sql.withTransaction)
      return yield* rows.previousGrant("putGrant")(previous)
    },
    Effect.mapError(storageError("putGrant"))
  ))

  const completeFlow = spanned("Storage.completeFlow")(Effect.fnUntraced(
    function* (grant: Grant, flowCreatedAt?: number) {
      const row = yield* rows.grantToRow(grant)
      const previous = yield* db.replaceGrant(row).pipe(
        Effect.zipLeft(db.deleteFlow({ userId: grant.userId, onlyCreatedAt: flowCreatedAt ?? null })),
        sql.withTransaction
      )
      return yield* rows.previousGrant("completeFlow")(previous)
    },
    Effect.mapError(storageError("completeFlow"))
  ))

  const updateScopes = spanned("Storage.updateScopes")(Effect.fnUntraced(
    function* (userId: UserId, scopes: ReadonlyArray<Scope> | null, at: number) {
      return (yield* db.updateScopes({ userId, scopes, at })).length > 0
    },
    Effect.mapError(storageError("updateScopes"))
  ))

  const setNcUserId = spanned("Storage.setNcUserId")(Effect.fnUntraced(
    function* (userId: UserId, ncUserId: string, at: number, onlyCreatedAt?: number) {
      return (yield* db.updateNcUserId({ userId, ncUserId, at, onlyCreatedAt: onlyCreatedAt ?? null })).length > 0
    },
    Effect.mapError(storageError("setNcUserId"))
  ))

  const deleteGrant = spanned("Storage.deleteGrant")(Effect.fnUntraced(
    function* (userId: UserId, onlyCreatedAt?: number) {
      const deleted = yield* db.deleteGrant({ userId, onlyCreatedAt: onlyCreatedAt ?? null })
      return yield* rows.previousGrant("deleteGrant")(deleted)
    },
    Effect.mapError(storageError("deleteGrant"))
  ))

  const getFlow = spanned("Storage.getFlow")(Effect.fnUntraced(
    function* (userId: UserId) {
      return yield* rows.readFlow(userId, yield* db.findFlow(userId))
    },
    Effect.mapError(storageError("getFlow"))
  ))

  const putFlow = spanned("Storage.putFlow")(Effect.fnUntraced(
    function* (flow: PendingFlow) {
      yield* db.upsertFlow(yield* rows.flowToRow(flow))
    },
    Effect.mapError(storageError("putFlow"))
  ))

  const deleteFlow = spanned("Storage.deleteFlow")(Effect.fnUntraced(
    function* (userId: UserId, onlyCreatedAt?: number) {
      return (yield* db.deleteFlow({ userId, onlyCreatedAt: onlyCreatedAt ?? null })).length > 0
    },
    Effect.mapError(storageError("deleteFlow"))
  ))

  const listActiveFlows = spanned("Storage.listActiveFlows")(Effect.fnUntraced(
    function* (now: number, limit: number) {
      if (limit <= 0) return []
      return yield* rows.readableFlows(yield* db.findActiveFlows({ now, limit: Math.floor(limit) }))
    },
    Effect.mapError(storageError("listActiveFlows"))
  ))

  const deleteExpiredFlows = spanned("Storage.deleteExpiredFlows")(Effect.fnUntraced(
    function* (before: number) {
      return yield* db.deleteExpiredFlows(before)
    },
    Effect.mapError(storageError("deleteExpiredFlows"))
  ))

  const claimFlows = spanned("Storage.claimFlows")(Effect.fnUntraced(
    function* (owner: string, now: number, leaseMs: number, limit: number) {
      if (limit <= 0) return []
      const claimed = yield* db.claimFlows({ owner, now, until: now + Math.max(0, leaseMs), limit: Math.floor(limit) })
      return yield* rows.readableFlows([...claimed].sort(byAge))
    },
    Effect.mapError(storageError("claimFlows"))
  ))

  const releaseFlow = spanned("Storage.releaseFlow")(Effect.fnUntraced(
    function* (userId: UserId, owner: string) {
      return (yield* db.releaseFlow({ userId, owner })).length > 0
    },
    Effect.mapError(storageError("releaseFlow"))
  ))

  const recordFlowStart = spanned("Storage.recordFlowStart")(Effect.fnUntraced(
    function* (userId: UserId, at: number) {
      yield* db.insertFlowStart({ user_id: userId, at })
    },
    Effect.mapError(storageError("recordFlowStart"))
  ))

  const flowStartsSince = spanned("Storage.flowStartsSince")(Effect.fnUntraced(
    function* (userId: UserId, since: number) {
      return (yield* db.findFlowStarts({ userId, since })).map((r) => r.at)
    },
    Effect.mapError(storageError("flowStartsSince"))
  ))

  const audit = spanned("Storage.audit")(Effect.fnUntraced(
    function* (entry: AuditEntry) {
      yield* db.insertAudit(auditEntryToRow(entry))
    },
    Effect.mapError(storageError("audit"))
  ))

  const auditCoalesced = spanned("Storage.auditCoalesced")(Effect.fnUntraced(
    function* (entry: AuditEntry, repeat: AuditRepeat) {
      yield* db.upsertCoalescedAudit(coalescedAuditRow(entry, repeat))
    },
    Effect.mapError(storageError("auditCoalesced"))
  ))

  const auditLog = spanned("Storage.auditLog")(Effect.fnUntraced(
    function* (userId: UserId | null, limit: number) {
      if (limit <= 0) return []
      return (yield* db.findAudit({ userId, limit: Math.floor(limit) })).map(auditRecordFromRow)
    },
    Effect.mapError(storageError("auditLog"))
  ))

  const pruneHistory = spanned("Storage.pruneHistory")(Effect.fnUntraced(
    function* (before: number) {
      return yield* db.pruneAudit(before).pipe(Effect.zipLeft(db.pruneFlowStarts(before)), sql.withTransaction)
    },
    Effect.mapError(storageError("pruneHistory"))
  ))

  const secrets = sqlReencryptBackend(sql)

  const reencryptAll = spanned("Storage.reencryptAll")(Effect.fnUntraced(
    function* (options?: { readonly batchSize?: number }) {
      return yield* reencryptWith(cipher, secrets, options?.batchSize)
    },
    Effect.mapError(storageError("reencryptAll"))
  ))

  return Storage.of({
    getGrant,
    putGrant,
    completeFlow,
    updateScopes,
    setNcUserId,
    deleteGrant,
    getFlow,
    putFlow,
    deleteFlow,
    listActiveFlows,
    deleteExpiredFlows,
    claimFlows,
    releaseFlow,
    recordFlowStart,
    flowStartsSince,
    audit,
    auditCoalesced,
    auditLog,
    pruneHistory,
    reencryptAll
  })
})

export const SqlStorage = { make } as const
