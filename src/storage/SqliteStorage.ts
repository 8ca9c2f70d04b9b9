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
 * - `auditLog` returns entries newest first.
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
import { Cause, Effect, Layer, Option, ParseResult, Redacted, Schema } from "effect"
import { UserId } from "../domain/Ids.js"
import { Scope } from "../domain/Scope.js"
import { Cipher, type CipherError } from "./Cipher.js"
import { loader } from "./migrations/index.js"
import { absentIfUndecryptable, type ReencryptBackend, reencryptAll as reencryptWith } from "./reencrypt.js"
import {
  type AuditEntry,
  type AuditEvent,
  type FlowPurpose,
  type Grant,
  type PendingFlow,
  Storage,
  StorageError,
  type StorageShape
} from "./Storage.js"

// ---------------------------------------------------------------------------
// Row schemas

/** NULL column = unrestricted; otherwise a JSON array of scopes. */
const ScopesColumn = Schema.NullOr(Schema.parseJson(Schema.Array(Scope)))

const Millis = Schema.Number

const GrantRow = Schema.Struct({
  user_id: UserId,
  login_name: Schema.String,
  nc_user_id: Schema.NullOr(Schema.String),
  app_password_enc: Schema.String,
  scopes: ScopesColumn,
  created_at: Millis,
  updated_at: Millis
})
type GrantRow = typeof GrantRow.Type

const FLOW_PURPOSES = ["provision", "update"] as const satisfies ReadonlyArray<FlowPurpose>

const FlowRow = Schema.Struct({
  user_id: UserId,
  poll_token_enc: Schema.String,
  poll_endpoint: Schema.String,
  login_url_enc: Schema.String,
  requested_scopes: ScopesColumn,
  purpose: Schema.Literal(...FLOW_PURPOSES),
  elicitation_id: Schema.NullOr(Schema.String),
  created_at: Millis,
  expires_at: Millis
})
type FlowRow = typeof FlowRow.Type

const AUDIT_EVENTS = [
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

const AuditRow = Schema.Struct({
  at: Millis,
  user_id: UserId,
  event: Schema.Literal(...AUDIT_EVENTS),
  detail: Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})

const FlowStartRow = Schema.Struct({ user_id: UserId, at: Millis })
const AtRow = Schema.Struct({ at: Millis })
const KeyRow = Schema.Struct({ user_id: UserId })

const ByUser = Schema.Struct({ userId: UserId, onlyCreatedAt: Schema.NullOr(Millis) })
const Since = Schema.Struct({ userId: UserId, since: Millis })
const ScopesUpdate = Schema.Struct({ userId: UserId, scopes: ScopesColumn, at: Millis })
const NcUserIdUpdate = Schema.Struct({ userId: UserId, ncUserId: Schema.String, at: Millis })
const ActiveFlows = Schema.Struct({ now: Millis, limit: Schema.Int })
const Claim = Schema.Struct({ owner: Schema.String, now: Millis, until: Millis, limit: Schema.Int })
const Release = Schema.Struct({ userId: UserId, owner: Schema.String })
const AuditQuery = Schema.Struct({ userId: Schema.NullOr(UserId), limit: Schema.Int })
const SecretRow = Schema.Struct({ user_id: UserId, enc: Schema.String })

// ---------------------------------------------------------------------------
// AAD: which row and field a ciphertext belongs to

const aad = {
  appPassword: (userId: UserId) => `grant:app_password:${userId}`,
  pollToken: (userId: UserId) => `flow:poll_token:${userId}`,
  loginUrl: (userId: UserId) => `flow:login_url:${userId}`
}

// ---------------------------------------------------------------------------
// Errors: keep the failure, never the values

type Failure = SqlError | ParseResult.ParseError | CipherError

/** ParseError messages quote the offending values; keep only where it failed. */
const sanitize = (cause: Failure): unknown => {
  if (cause._tag !== "ParseError") return cause
  const paths = ParseResult.ArrayFormatter.formatErrorSync(cause).map((issue) =>
    issue.path.length === 0 ? "(root)" : issue.path.map(String).join(".")
  )
  return { _tag: "ParseError", message: `Stored data did not match its schema at: ${[...new Set(paths)].join(", ")}` }
}

const storageError = (operation: string) => (cause: Failure) =>
  new StorageError({ operation, cause: sanitize(cause) })

// ---------------------------------------------------------------------------

/** The `StorageShape` over the ambient `SqlClient` (schema already migrated). */
export const make: Effect.Effect<StorageShape, never, SqlClient.SqlClient | Cipher> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const cipher = yield* Cipher

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
    execute: ({ at, ncUserId, userId }) =>
      sql`UPDATE grants SET nc_user_id = ${ncUserId}, updated_at = ${at} WHERE user_id = ${userId} RETURNING user_id`
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
          ORDER BY created_at ASC, user_id ASC LIMIT ${limit})
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
  const findAudit = SqlSchema.findAll({
    Request: AuditQuery,
    Result: AuditRow,
    execute: ({ limit, userId }) =>
      userId === null
        ? sql`SELECT at, user_id, event, detail FROM audit_log ORDER BY at DESC, id DESC LIMIT ${limit}`
        : sql`SELECT at, user_id, event, detail FROM audit_log WHERE user_id = ${userId}
            ORDER BY at DESC, id DESC LIMIT ${limit}`
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

  // --- row <-> domain -----------------------------------------------------

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

  const rowToGrant = (row: GrantRow): Effect.Effect<Grant, CipherError> =>
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

  const rowToFlow = (row: FlowRow): Effect.Effect<PendingFlow, CipherError> =>
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

  /** A replaced/deleted grant whose secret cannot be decrypted is reported as absent. */
  const previousGrant = (operation: string) => (row: Option.Option<GrantRow>) =>
    Option.match(row, {
      onNone: () => Effect.succeedNone,
      onSome: (r) =>
        rowToGrant(r).pipe(
          Effect.asSome,
          Effect.catchAll((e) =>
            Effect.logWarning("Replaced grant could not be decrypted; reporting it as absent").pipe(
              Effect.annotateLogs({ operation, reason: e.reason }),
              Effect.as(Option.none<Grant>())
            )
          )
        )
    })

  /** Replace the user's grant; the first statement writes, see the module comment. */
  const replaceGrant = (row: GrantRow) =>
    Effect.zipLeft(deleteGrantRow({ userId: row.user_id, onlyCreatedAt: null }), insertGrant(row))

  // --- methods ------------------------------------------------------------

  const getGrant = Effect.fn("Storage.getGrant")(
    function* (userId: UserId) {
      const row = yield* findGrant(userId)
      return Option.isSome(row) ? yield* absentIfUndecryptable("grant", userId)(rowToGrant(row.value)) : Option.none()
    },
    Effect.mapError(storageError("getGrant"))
  )

  const putGrant = Effect.fn("Storage.putGrant")(
    function* (grant: Grant) {
      const row = yield* grantToRow(grant)
      const previous = yield* replaceGrant(row).pipe(sql.withTransaction)
      return yield* previousGrant("putGrant")(previous)
    },
    Effect.mapError(storageError("putGrant"))
  )

  const completeFlow = Effect.fn("Storage.completeFlow")(
    function* (grant: Grant) {
      const row = yield* grantToRow(grant)
      const previous = yield* replaceGrant(row).pipe(
        Effect.zipLeft(deleteFlowRow({ userId: grant.userId, onlyCreatedAt: null })),
        sql.withTransaction
      )
      return yield* previousGrant("completeFlow")(previous)
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
    function* (userId: UserId, ncUserId: string, at: number) {
      const rows = yield* updateNcUserIdRow({ userId, ncUserId, at })
      return rows.length > 0
    },
    Effect.mapError(storageError("setNcUserId"))
  )

  const deleteGrant = Effect.fn("Storage.deleteGrant")(
    function* (userId: UserId, onlyCreatedAt?: number) {
      const row = yield* deleteGrantRow({ userId, onlyCreatedAt: onlyCreatedAt ?? null })
      return yield* previousGrant("deleteGrant")(row)
    },
    Effect.mapError(storageError("deleteGrant"))
  )

  const getFlow = Effect.fn("Storage.getFlow")(
    function* (userId: UserId) {
      const row = yield* findFlow(userId)
      return Option.isSome(row)
        ? yield* absentIfUndecryptable("pending login flow", userId)(rowToFlow(row.value))
        : Option.none()
    },
    Effect.mapError(storageError("getFlow"))
  )

  const putFlow = Effect.fn("Storage.putFlow")(
    function* (flow: PendingFlow) {
      yield* upsertFlow(yield* flowToRow(flow))
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

  /** Decrypt rows, leaving out (with a warning) those whose secrets no longer decrypt. */
  const readableFlows = (rows: ReadonlyArray<FlowRow>) =>
    Effect.map(
      Effect.forEach(rows, (row) =>
        rowToFlow(row).pipe(
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

  const listActiveFlows = Effect.fn("Storage.listActiveFlows")(
    function* (now: number, limit: number) {
      if (limit <= 0) return []
      const rows = yield* findActiveFlows({ now, limit: Math.floor(limit) })
      return yield* readableFlows(rows)
    },
    Effect.mapError(storageError("listActiveFlows"))
  )

  const claimFlows = Effect.fn("Storage.claimFlows")(
    function* (owner: string, now: number, leaseMs: number, limit: number) {
      if (limit <= 0) return []
      const rows = yield* claimRows({ owner, now, until: now + Math.max(0, leaseMs), limit: Math.floor(limit) }).pipe(
        sql.withTransaction
      )
      // RETURNING has no defined order.
      const ordered = [...rows].sort((a, b) =>
        a.created_at !== b.created_at ? a.created_at - b.created_at : a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0
      )
      return yield* readableFlows(ordered)
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
      yield* insertAudit({ at: entry.at, user_id: entry.userId, event: entry.event, detail: entry.detail })
    },
    Effect.mapError(storageError("audit"))
  )

  const auditLog = Effect.fn("Storage.auditLog")(
    function* (userId: UserId | null, limit: number) {
      if (limit <= 0) return []
      const rows = yield* findAudit({ userId, limit: Math.floor(limit) })
      return rows.map((r): AuditEntry => ({ at: r.at, userId: r.user_id, event: r.event, detail: r.detail }))
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

  const readSecrets = Schema.decodeUnknown(Schema.Array(SecretRow))

  /** The secret columns, batch by batch; rewrites are compare-and-set, one transaction per batch. */
  const secrets: ReencryptBackend<SqlError | ParseResult.ParseError> = {
    readBatch: ({ column, table }, after, limit) =>
      Effect.map(
        Effect.flatMap(
          after === null
            ? sql`SELECT user_id, ${sql(column)} AS enc FROM ${sql(table)} ORDER BY user_id LIMIT ${limit}`
            : sql`SELECT user_id, ${sql(column)} AS enc FROM ${sql(table)} WHERE user_id > ${after}
                ORDER BY user_id LIMIT ${limit}`,
          readSecrets
        ),
        (rows) => rows.map((r) => ({ userId: r.user_id, ciphertext: r.enc }))
      ),
    writeBatch: ({ column, table }, rewrites) =>
      Effect.forEach(rewrites, ({ from, to, userId }) =>
        sql`UPDATE ${sql(table)} SET ${sql(column)} = ${to}
          WHERE user_id = ${userId} AND ${sql(column)} = ${from} RETURNING user_id`.pipe(Effect.map((r) => r.length))
      ).pipe(
        Effect.map((applied) => applied.reduce((a, b) => a + b, 0)),
        sql.withTransaction
      )
  }

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

const isMemory = (filename: string) => filename === ":memory:" || filename === ""

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
