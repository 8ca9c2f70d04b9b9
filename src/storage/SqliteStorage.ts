/**
 * `Storage` on SQLite (better-sqlite3 through `@effect/sql-sqlite-node`).
 *
 * - The database file's folder is created (mode 0700) if missing, and a new
 *   database file is created with mode 0600 (SQLite gives its -wal/-shm
 *   files the same mode).
 * - WAL journal, `busy_timeout` so several local processes can share the
 *   file, `foreign_keys` on.
 * - Migrations (./migrations) run under a write lock, so two processes
 *   starting on a fresh file do not race.
 * - Secrets are stored only as `Cipher` ciphertexts bound to their row and
 *   field (AAD `grant:app_password:<userId>`, `flow:poll_token:<userId>`,
 *   `flow:login_url:<userId>`).
 * - Replacing or deleting a row that returns the previous value starts with
 *   the write (`DELETE … RETURNING`) inside the transaction. A transaction
 *   that reads first and writes later can fail with SQLITE_BUSY when another
 *   process wrote in between, whatever the busy timeout.
 * - A grant or flow whose secret no configured key decrypts (e.g. the key
 *   changed without `NC_MCP_PREVIOUS_ENCRYPTION_KEYS`) is reported as absent,
 *   with a warning naming the user: `getGrant`/`getFlow` return none, a
 *   replaced or deleted grant is reported absent, listings skip it. The user
 *   is asked to provision again; the row stays until replaced.
 * - `reencryptAll` reads each secret column in user-id order (outside any
 *   transaction) and rewrites a batch in one transaction of compare-and-set
 *   updates, so the transaction starts with a write (see above).
 * - `auditLog` returns entries newest first. `auditCoalesced` is one
 *   `INSERT … ON CONFLICT … DO UPDATE` on the unique index of the series
 *   (user, event, key, window).
 * - Flow leases (`claimFlows`) are one `UPDATE … RETURNING` over the oldest
 *   claimable rows: SQLite runs it under the database write lock, so two
 *   processes never lease the same row. Replacing a flow clears its lease.
 */
import { FileSystem, Path } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Cause, Effect, Layer, type ParseResult, Schema } from "effect"
import { UserId } from "../domain/Ids.js"
import { Scope } from "../domain/Scope.js"
import { Cipher, type CipherError } from "./Cipher.js"
import { loader } from "./migrations/index.js"
import { reencryptAll as reencryptWith, sqlReencryptBackend } from "./reencrypt.js"
import {
  auditEntryToRow,
  auditRecordFromRow,
  coalescedAuditRow,
  type GrantRow,
  KeyRow,
  parseErrorSummary,
  rowCodec,
  rowSchemas,
  storageErrorWith
} from "./rows.js"
import { type AuditEntry, type AuditRepeat, type Grant, type PendingFlow, Storage, StorageError, type StorageShape } from "./Storage.js"

// ---------------------------------------------------------------------------
// Row schemas (shared in ./rows.ts) over SQLite's columns

/** NULL column = unrestricted; otherwise a JSON array of scopes. */
const ScopesColumn = Schema.NullOr(Schema.parseJson(Schema.Array(Scope)))

const Millis = Schema.Number

const { AtRow, AuditRecordRow, AuditRow, FlowRow, GrantRow } = rowSchemas({
  millis: Millis,
  scopes: ScopesColumn,
  detail: Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})

const FlowStartRow = Schema.Struct({ user_id: UserId, at: Millis })

const ByUser = Schema.Struct({ userId: UserId, onlyCreatedAt: Schema.NullOr(Millis) })
const Since = Schema.Struct({ userId: UserId, since: Millis })
const ScopesUpdate = Schema.Struct({ userId: UserId, scopes: ScopesColumn, at: Millis })
const NcUserIdUpdate = Schema.Struct({ userId: UserId, ncUserId: Schema.String, at: Millis, onlyCreatedAt: Schema.NullOr(Millis) })
const ActiveFlows = Schema.Struct({ now: Millis, limit: Schema.Int })
const Claim = Schema.Struct({ owner: Schema.String, now: Millis, until: Millis, limit: Schema.Int })
const Release = Schema.Struct({ userId: UserId, owner: Schema.String })
const AuditQuery = Schema.Struct({ userId: Schema.NullOr(UserId), limit: Schema.Int })
const CoalescedAuditRow = Schema.extend(AuditRow, Schema.Struct({ repeat_key: Schema.String, repeat_window: Millis }))

// ---------------------------------------------------------------------------
// Errors: keep the failure, never the values

type Failure = SqlError | ParseResult.ParseError | CipherError

const sanitize = (cause: Failure): unknown => (cause._tag !== "ParseError" ? cause : parseErrorSummary(cause))

const storageError = storageErrorWith(sanitize)

// ---------------------------------------------------------------------------

/** The `StorageShape` over the ambient `SqlClient` (schema already migrated). */
export const make: Effect.Effect<StorageShape, never, SqlClient.SqlClient | Cipher> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const cipher = yield* Cipher
  const rows = rowCodec(cipher)

  // --- statements ---------------------------------------------------------

  const findGrant = SqlSchema.findOne({
    Request: UserId,
    Result: GrantRow,
    execute: (userId) => sql`SELECT * FROM grants WHERE user_id = ${userId}`
  })
  const deleteGrantRow = SqlSchema.findOne({
    Request: ByUser,
    Result: GrantRow,
    execute: ({ onlyCreatedAt, userId }) =>
      onlyCreatedAt === null
        ? sql`DELETE FROM grants WHERE user_id = ${userId} RETURNING *`
        : sql`DELETE FROM grants WHERE user_id = ${userId} AND created_at = ${onlyCreatedAt} RETURNING *`
  })
  const insertGrant = SqlSchema.void({
    Request: GrantRow,
    execute: (row) => sql`INSERT INTO grants ${sql.insert(row)}`
  })
  const updateScopesRow = SqlSchema.findAll({
    Request: ScopesUpdate,
    Result: KeyRow,
    execute: ({ at, scopes, userId }) =>
      sql`UPDATE grants SET scopes = ${scopes}, updated_at = ${at} WHERE user_id = ${userId} RETURNING user_id`
  })
  const updateNcUserIdRow = SqlSchema.findAll({
    Request: NcUserIdUpdate,
    Result: KeyRow,
    execute: ({ at, ncUserId, onlyCreatedAt, userId }) =>
      onlyCreatedAt === null
        ? sql`UPDATE grants SET nc_user_id = ${ncUserId}, updated_at = ${at} WHERE user_id = ${userId} RETURNING user_id`
        : sql`UPDATE grants SET nc_user_id = ${ncUserId}, updated_at = ${at}
            WHERE user_id = ${userId} AND created_at = ${onlyCreatedAt} RETURNING user_id`
  })

  const findFlow = SqlSchema.findOne({
    Request: UserId,
    Result: FlowRow,
    execute: (userId) => sql`SELECT * FROM login_flows WHERE user_id = ${userId}`
  })
  const upsertFlow = SqlSchema.void({
    Request: FlowRow,
    execute: (row) =>
      sql`INSERT INTO login_flows ${sql.insert(row)}
        ON CONFLICT (user_id) DO UPDATE SET
          poll_token_enc = excluded.poll_token_enc,
          poll_endpoint = excluded.poll_endpoint,
          login_url_enc = excluded.login_url_enc,
          requested_scopes = excluded.requested_scopes,
          purpose = excluded.purpose,
          elicitation_id = excluded.elicitation_id,
          created_at = excluded.created_at,
          expires_at = excluded.expires_at,
          lease_owner = NULL,
          lease_until = NULL`
  })
  const deleteFlowRow = SqlSchema.findAll({
    Request: ByUser,
    Result: KeyRow,
    execute: ({ onlyCreatedAt, userId }) =>
      onlyCreatedAt === null
        ? sql`DELETE FROM login_flows WHERE user_id = ${userId} RETURNING user_id`
        : sql`DELETE FROM login_flows WHERE user_id = ${userId} AND created_at = ${onlyCreatedAt} RETURNING user_id`
  })
  const findActiveFlows = SqlSchema.findAll({
    Request: ActiveFlows,
    Result: FlowRow,
    execute: ({ limit, now }) =>
      sql`SELECT * FROM login_flows WHERE expires_at > ${now} ORDER BY created_at ASC, user_id ASC LIMIT ${limit}`
  })
  const claimRows = SqlSchema.findAll({
    Request: Claim,
    Result: FlowRow,
    execute: ({ limit, now, owner, until }) =>
      sql`UPDATE login_flows SET lease_owner = ${owner}, lease_until = ${until}
        WHERE user_id IN (
          SELECT user_id FROM login_flows
          WHERE expires_at > ${now}
            AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= ${now} OR lease_owner = ${owner})
          ORDER BY COALESCE(lease_until, 0) ASC, created_at ASC, user_id ASC LIMIT ${limit})
        RETURNING *`
  })
  const releaseRow = SqlSchema.findAll({
    Request: Release,
    Result: KeyRow,
    execute: ({ owner, userId }) =>
      sql`UPDATE login_flows SET lease_owner = NULL, lease_until = NULL
        WHERE user_id = ${userId} AND lease_owner = ${owner} RETURNING user_id`
  })
  const deleteExpiredRows = SqlSchema.findAll({
    Request: Millis,
    Result: KeyRow,
    execute: (before) => sql`DELETE FROM login_flows WHERE expires_at < ${before} RETURNING user_id`
  })

  const insertFlowStart = SqlSchema.void({
    Request: FlowStartRow,
    execute: (row) => sql`INSERT INTO flow_starts ${sql.insert(row)}`
  })
  const findFlowStarts = SqlSchema.findAll({
    Request: Since,
    Result: AtRow,
    execute: ({ since, userId }) =>
      sql`SELECT at FROM flow_starts WHERE user_id = ${userId} AND at >= ${since} ORDER BY at ASC`
  })

  const insertAudit = SqlSchema.void({
    Request: AuditRow,
    execute: (row) => sql`INSERT INTO audit_log ${sql.insert(row)}`
  })
  const upsertCoalescedAudit = SqlSchema.void({
    Request: CoalescedAuditRow,
    execute: (row) =>
      sql`INSERT INTO audit_log ${sql.insert(row)}
        ON CONFLICT (user_id, event, repeat_key, repeat_window) DO UPDATE SET
          count = audit_log.count + 1,
          last_at = max(COALESCE(audit_log.last_at, audit_log.at), excluded.at)`
  })
  const findAudit = SqlSchema.findAll({
    Request: AuditQuery,
    Result: AuditRecordRow,
    execute: ({ limit, userId }) =>
      userId === null
        ? sql`SELECT at, user_id, event, detail, count, COALESCE(last_at, at) AS last_at FROM audit_log
            ORDER BY at DESC, id DESC LIMIT ${limit}`
        : sql`SELECT at, user_id, event, detail, count, COALESCE(last_at, at) AS last_at FROM audit_log
            WHERE user_id = ${userId} ORDER BY at DESC, id DESC LIMIT ${limit}`
  })
  const pruneAudit = SqlSchema.findAll({
    Request: Millis,
    Result: Schema.Struct({ id: Schema.Number }),
    execute: (before) => sql`DELETE FROM audit_log WHERE at < ${before} RETURNING id`
  })
  const pruneFlowStarts = SqlSchema.void({
    Request: Millis,
    execute: (before) => sql`DELETE FROM flow_starts WHERE at < ${before}`
  })

  /** Replace the user's grant; the first statement writes, see the module comment. */
  const replaceGrant = (row: GrantRow) =>
    Effect.zipLeft(deleteGrantRow({ userId: row.user_id, onlyCreatedAt: null }), insertGrant(row))

  // --- methods ------------------------------------------------------------

  const getGrant = Effect.fn("Storage.getGrant")(
    function* (userId: UserId) {
      return yield* rows.readGrant(userId, yield* findGrant(userId))
    },
    Effect.mapError(storageError("getGrant"))
  )

  const putGrant = Effect.fn("Storage.putGrant")(
    function* (grant: Grant) {
      const row = yield* rows.grantToRow(grant)
      const previous = yield* replaceGrant(row).pipe(sql.withTransaction)
      return yield* rows.previousGrant("putGrant")(previous)
    },
    Effect.mapError(storageError("putGrant"))
  )

  const completeFlow = Effect.fn("Storage.completeFlow")(
    function* (grant: Grant, flowCreatedAt?: number) {
      const row = yield* rows.grantToRow(grant)
      const previous = yield* replaceGrant(row).pipe(
        Effect.zipLeft(deleteFlowRow({ userId: grant.userId, onlyCreatedAt: flowCreatedAt ?? null })),
        sql.withTransaction
      )
      return yield* rows.previousGrant("completeFlow")(previous)
    },
    Effect.mapError(storageError("completeFlow"))
  )

  const updateScopes = Effect.fn("Storage.updateScopes")(
    function* (userId: UserId, scopes: ReadonlyArray<Scope> | null, at: number) {
      const rows = yield* updateScopesRow({ userId, scopes, at })
      return rows.length > 0
    },
    Effect.mapError(storageError("updateScopes"))
  )

  const setNcUserId = Effect.fn("Storage.setNcUserId")(
    function* (userId: UserId, ncUserId: string, at: number, onlyCreatedAt?: number) {
      const rows = yield* updateNcUserIdRow({ userId, ncUserId, at, onlyCreatedAt: onlyCreatedAt ?? null })
      return rows.length > 0
    },
    Effect.mapError(storageError("setNcUserId"))
  )

  const deleteGrant = Effect.fn("Storage.deleteGrant")(
    function* (userId: UserId, onlyCreatedAt?: number) {
      const row = yield* deleteGrantRow({ userId, onlyCreatedAt: onlyCreatedAt ?? null })
      return yield* rows.previousGrant("deleteGrant")(row)
    },
    Effect.mapError(storageError("deleteGrant"))
  )

  const getFlow = Effect.fn("Storage.getFlow")(
    function* (userId: UserId) {
      return yield* rows.readFlow(userId, yield* findFlow(userId))
    },
    Effect.mapError(storageError("getFlow"))
  )

  const putFlow = Effect.fn("Storage.putFlow")(
    function* (flow: PendingFlow) {
      yield* upsertFlow(yield* rows.flowToRow(flow))
    },
    Effect.mapError(storageError("putFlow"))
  )

  const deleteFlow = Effect.fn("Storage.deleteFlow")(
    function* (userId: UserId, onlyCreatedAt?: number) {
      const rows = yield* deleteFlowRow({ userId, onlyCreatedAt: onlyCreatedAt ?? null })
      return rows.length > 0
    },
    Effect.mapError(storageError("deleteFlow"))
  )

  const listActiveFlows = Effect.fn("Storage.listActiveFlows")(
    function* (now: number, limit: number) {
      if (limit <= 0) return []
      return yield* rows.readableFlows(yield* findActiveFlows({ now, limit: Math.floor(limit) }))
    },
    Effect.mapError(storageError("listActiveFlows"))
  )

  const claimFlows = Effect.fn("Storage.claimFlows")(
    function* (owner: string, now: number, leaseMs: number, limit: number) {
      if (limit <= 0) return []
      const claimed = yield* claimRows({ owner, now, until: now + Math.max(0, leaseMs), limit: Math.floor(limit) }).pipe(
        sql.withTransaction
      )
      // RETURNING has no defined order.
      const ordered = [...claimed].sort((a, b) =>
        a.created_at !== b.created_at ? a.created_at - b.created_at : a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0
      )
      return yield* rows.readableFlows(ordered)
    },
    Effect.mapError(storageError("claimFlows"))
  )

  const releaseFlow = Effect.fn("Storage.releaseFlow")(
    function* (userId: UserId, owner: string) {
      return (yield* releaseRow({ userId, owner })).length > 0
    },
    Effect.mapError(storageError("releaseFlow"))
  )

  const deleteExpiredFlows = Effect.fn("Storage.deleteExpiredFlows")(
    function* (before: number) {
      return (yield* deleteExpiredRows(before)).length
    },
    Effect.mapError(storageError("deleteExpiredFlows"))
  )

  const recordFlowStart = Effect.fn("Storage.recordFlowStart")(
    function* (userId: UserId, at: number) {
      yield* insertFlowStart({ user_id: userId, at })
    },
    Effect.mapError(storageError("recordFlowStart"))
  )

  const flowStartsSince = Effect.fn("Storage.flowStartsSince")(
    function* (userId: UserId, since: number) {
      return (yield* findFlowStarts({ userId, since })).map((r) => r.at)
    },
    Effect.mapError(storageError("flowStartsSince"))
  )

  const audit = Effect.fn("Storage.audit")(
    function* (entry: AuditEntry) {
      yield* insertAudit(auditEntryToRow(entry))
    },
    Effect.mapError(storageError("audit"))
  )

  const auditCoalesced = Effect.fn("Storage.auditCoalesced")(
    function* (entry: AuditEntry, repeat: AuditRepeat) {
      yield* upsertCoalescedAudit(coalescedAuditRow(entry, repeat))
    },
    Effect.mapError(storageError("auditCoalesced"))
  )

  const auditLog = Effect.fn("Storage.auditLog")(
    function* (userId: UserId | null, limit: number) {
      if (limit <= 0) return []
      return (yield* findAudit({ userId, limit: Math.floor(limit) })).map(auditRecordFromRow)
    },
    Effect.mapError(storageError("auditLog"))
  )

  const pruneHistory = Effect.fn("Storage.pruneHistory")(
    function* (before: number) {
      const pruned = yield* pruneAudit(before).pipe(Effect.zipLeft(pruneFlowStarts(before)), sql.withTransaction)
      return pruned.length
    },
    Effect.mapError(storageError("pruneHistory"))
  )

  const secrets = sqlReencryptBackend(sql)

  const reencryptAll = Effect.fn("Storage.reencryptAll")(
    function* (options?: { readonly batchSize?: number }) {
      return yield* reencryptWith(cipher, secrets, options?.batchSize)
    },
    Effect.mapError(storageError("reencryptAll"))
  )

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

// ---------------------------------------------------------------------------
// Database layer

export interface SqliteStorageOptions {
  /** Path of the database file, or `:memory:`. */
  readonly filename: string
  /** How long a statement waits for another process's write lock (default 5000 ms). */
  readonly busyTimeoutMs?: number
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000

/** A private in-memory database: no other connection can ever see it. */
export const isMemory = (filename: string) => filename === ":memory:" || filename === ""

/** Create the folder (0700) and an empty database file (0600) if missing. */
const prepareFile = (filename: string) =>
  Effect.gen(function* () {
    if (isMemory(filename)) return
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(path.resolve(filename)), { recursive: true, mode: 0o700 })
    yield* fs
      .writeFile(filename, new Uint8Array(0), { flag: "wx", mode: 0o600 })
      .pipe(Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "AlreadyExists", () => Effect.void))
  }).pipe(Effect.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)))

const MIGRATION_LOCK_TABLE = "nc_mcp_migration_lock"

/** Pragmas, then migrations under a write lock held for the whole run. */
const setup = (busyTimeoutMs: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`)
    yield* sql`PRAGMA foreign_keys = ON`
    yield* sql`CREATE TABLE IF NOT EXISTS ${sql(MIGRATION_LOCK_TABLE)} (id INTEGER PRIMARY KEY)`
    yield* sql`DELETE FROM ${sql(MIGRATION_LOCK_TABLE)}`.pipe(
      Effect.zipRight(Migrator.make({})({ loader })),
      sql.withTransaction
    )
  })

/**
 * The migrated database: `SqliteClient` + `SqlClient`. Exposed for tests and
 * maintenance tasks; the application uses {@link layer}.
 */
export const layerClient = (
  options: SqliteStorageOptions
): Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient, StorageError> => {
  const client = Layer.unwrapEffect(
    Effect.as(prepareFile(options.filename), SqliteClient.layer({ filename: options.filename }))
  ).pipe(
    // Opening a file can throw inside the driver; report it as a storage failure.
    Layer.catchAllCause((cause) =>
      Layer.fail(new StorageError({ operation: "open", cause: Cause.squash(cause) }))
    )
  )
  const migrated = Layer.effectDiscard(setup(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS)).pipe(
    Layer.mapError((cause) => new StorageError({ operation: "migrate", cause }))
  )
  return migrated.pipe(Layer.provideMerge(client))
}

/** `Storage` on the SQLite file `filename` (`:memory:` for a private in-memory database). */
export const layer = (options: SqliteStorageOptions): Layer.Layer<Storage, StorageError, Cipher> =>
  Layer.effect(Storage, make).pipe(Layer.provide(layerClient(options)))

/** In-memory database: same code as {@link layer}, nothing written to disk. */
export const layerMemory: Layer.Layer<Storage, StorageError, Cipher> = layer({ filename: ":memory:" })

export const SqliteStorage = { make, layer, layerClient, layerMemory } as const
