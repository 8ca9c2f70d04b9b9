/**
 * `Storage` on PostgreSQL (`@effect/sql-pg`), for several server replicas
 * sharing one database.
 *
 * - Same tables and columns as SQLite (./migrations-pg): `bigint` epoch-ms
 *   times, `jsonb` scopes and audit details, secrets only as `Cipher`
 *   ciphertexts with the same AADs as SQLite (`grant:app_password:<userId>`,
 *   `flow:poll_token:<userId>`, `flow:login_url:<userId>`), so rows can move
 *   between the backends.
 * - `schema` puts every table in that schema (`search_path`, sent as a
 *   startup option; created if missing). Without it the URL's default
 *   `search_path` applies.
 * - Migrations run in one transaction holding `pg_advisory_xact_lock` for
 *   the schema, so replicas starting together migrate once and the others
 *   wait and find the work done.
 * - Replacing a grant (`putGrant`, `completeFlow`) locks the current row
 *   (`SELECT … FOR UPDATE`) and updates it, or inserts with
 *   `ON CONFLICT DO NOTHING` and, when a concurrent insert won, locks and
 *   replaces that one: the grant reported as replaced is exactly the one
 *   overwritten, so the caller can revoke its app password. `completeFlow`
 *   also deletes the flow in the same transaction. Flows are upserted with
 *   `INSERT … ON CONFLICT … DO UPDATE`, which clears any lease.
 * - `claimFlows` leases rows picked with `FOR UPDATE SKIP LOCKED`, so
 *   concurrent claims never wait on, nor share, a flow.
 * - Errors carry the operation and a reduced cause: the server's error code
 *   and message, never row details, statement parameters or the connection
 *   URL's password. Text columns cannot hold NUL characters on PostgreSQL;
 *   such a value fails with a `StorageError`.
 * - Same read behaviour as SQLite: grants and flows that no configured key
 *   decrypts are reported absent with a warning naming the user (`getGrant`,
 *   `getFlow`, replaced/deleted grants), flow listings skip them, `auditLog`
 *   is newest first.
 * - `reencryptAll` reads each secret column in user-id order and rewrites a
 *   batch in one transaction of compare-and-set updates, so it can run while
 *   replicas keep serving.
 * - `auditCoalesced` is one `INSERT … ON CONFLICT … DO UPDATE` on the unique
 *   index of the series (user, event, key, window), so concurrent replicas
 *   never lose a count.
 * - A dropped network fails operations instead of hanging them: each
 *   operation (but `reencryptAll`) has a client-side deadline
 *   (`operationTimeout`, default 5 s, ./deadline.ts), which is also the
 *   server's `statement_timeout`; connecting has `connectTimeout`; see
 *   ./pgConnection.ts for the rest. Migrations run without the statement
 *   limit (they may wait for another replica's, or rewrite a large table).
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Cause, Data, Duration, Effect, Layer, Option, ParseResult, Redacted, Schema } from "effect"
import type { UserId } from "../domain/Ids.js"
import { Scope } from "../domain/Scope.js"
import { Cipher } from "./Cipher.js"
import { withDeadline } from "./deadline.js"
import { clientOptions, type PgConnectionLimits, withLimits } from "./pgConnection.js"
import { loader } from "./migrations-pg/index.js"
import { reencryptAll as reencryptWith, sqlReencryptBackend } from "./reencrypt.js"
import {
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
// Row schemas (shared in ./rows.ts) over PostgreSQL's results: `bigint`
// arrives as text, `jsonb` already parsed

const { AtRow, AuditRecordRow, FlowRow, GrantRow } = rowSchemas({
  millis: Schema.Union(Schema.Number, Schema.NumberFromString),
  scopes: Schema.NullOr(Schema.Array(Scope)),
  detail: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

const CountRow = Schema.Struct({ n: Schema.Number })

const rowsOf = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknown(Schema.Array(schema))
  return <E, R>(rows: Effect.Effect<ReadonlyArray<unknown>, E, R>) => Effect.flatMap(rows, (r) => decode(r))
}
const grantRows = rowsOf(GrantRow)
const flowRows = rowsOf(FlowRow)
const keyRows = rowsOf(KeyRow)
const count = <E, R>(rows: Effect.Effect<ReadonlyArray<unknown>, E, R>) =>
  Effect.map(rowsOf(CountRow)(rows), (r) => r[0]?.n ?? 0)

/** `jsonb` parameter: SQL NULL for null (not the JSON `null`), else JSON text. */
const jsonParam = (value: unknown): string | null => (value === null ? null : JSON.stringify(value))

// ---------------------------------------------------------------------------
// Errors: keep the failure, never the values

/** Replacing a grant kept losing to concurrent writers (practically unreachable). */
class Contention extends Data.TaggedError("Contention")<{ readonly message: string }> {}

type Failure = { readonly _tag: string }

const stringField = (value: unknown, key: string): string | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const field = (value as Record<string, unknown>)[key]
  return typeof field === "string" ? field : undefined
}

/** Remove the URL and its password from a message. */
const scrubber =
  (secrets: ReadonlyArray<string>) =>
  (text: string): string =>
    secrets.reduce((acc, secret) => (secret.length > 0 ? acc.split(secret).join("***") : acc), text)

const noSecrets = scrubber([])

/**
 * The driver's error without `detail`/`where`/parameters (they can quote row
 * values): its code, severity, message and the object it concerns.
 */
const reduceDriverError = (cause: unknown, scrub: (s: string) => string): unknown => {
  if (typeof cause !== "object" || cause === null) return cause === undefined ? undefined : scrub(String(cause))
  const out: Record<string, string> = {}
  for (const key of ["name", "code", "severity", "message", "routine", "table", "column", "constraint"]) {
    const value = stringField(cause, key)
    if (value !== undefined) out[key] = scrub(value)
  }
  return out
}

const sanitize = (cause: unknown, scrub: (s: string) => string = noSecrets): unknown => {
  if (cause instanceof StorageError) return cause.cause
  if (ParseResult.isParseError(cause)) return parseErrorSummary(cause)
  const tag = stringField(cause, "_tag")
  if (tag === "SqlError") {
    return {
      _tag: "SqlError",
      message: scrub(stringField(cause, "message") ?? ""),
      cause: reduceDriverError((cause as { readonly cause?: unknown }).cause, scrub)
    }
  }
  if (tag === "MigrationError") {
    return {
      _tag: "MigrationError",
      reason: stringField(cause, "reason"),
      message: scrub(stringField(cause, "message") ?? ""),
      cause: sanitize((cause as { readonly cause?: unknown }).cause, scrub)
    }
  }
  if (tag === "CipherError" || tag === "Contention") return cause
  return reduceDriverError(cause, scrub)
}

const storageError = storageErrorWith((cause: Failure) => sanitize(cause))

// ---------------------------------------------------------------------------

/** The `StorageShape` over the ambient PostgreSQL `SqlClient` (schema already migrated). */
export const make: Effect.Effect<StorageShape, never, SqlClient.SqlClient | Cipher> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const cipher = yield* Cipher

  const rows = rowCodec(cipher)

  /** The grant's row with its scopes as a `jsonb` parameter. */
  const grantToRow = (grant: Grant) =>
    Effect.map(rows.grantToRow(grant), (row) => ({ ...row, scopes: jsonParam(row.scopes) }))
  type GrantWrite = Effect.Effect.Success<ReturnType<typeof grantToRow>>

  /** The flow's row with its scopes as a `jsonb` parameter. */
  const flowToRow = (flow: PendingFlow) =>
    Effect.map(rows.flowToRow(flow), (row) => ({ ...row, requested_scopes: jsonParam(row.requested_scopes) }))

  // --- statements ---------------------------------------------------------

  const REPLACE_ATTEMPTS = 5

  /**
   * Replace the user's grant; run inside a transaction. Returns the row it
   * overwrote. Lock-then-write, because `INSERT … ON CONFLICT DO UPDATE`
   * cannot return the old row and a `DELETE` + `INSERT` races with a
   * concurrent insert of the same user.
   */
  const replaceGrant = (row: GrantWrite) => {
    const attempt = (left: number): Effect.Effect<Option.Option<GrantRow>, Failure> =>
      Effect.gen(function* () {
        const locked = yield* grantRows(sql`SELECT * FROM grants WHERE user_id = ${row.user_id} FOR UPDATE`)
        const current = locked[0]
        if (current !== undefined) {
          yield* sql`UPDATE grants SET ${sql.update(row, ["user_id"])} WHERE user_id = ${row.user_id}`
          return Option.some(current)
        }
        const inserted = yield* sql`INSERT INTO grants ${sql.insert(row)}
          ON CONFLICT (user_id) DO NOTHING RETURNING user_id`
        if (inserted.length > 0) return Option.none()
        // A concurrent transaction inserted this user's grant first: replace that one.
        if (left <= 1) return yield* new Contention({ message: "The grant kept changing under concurrent writers" })
        return yield* attempt(left - 1)
      })
    return attempt(REPLACE_ATTEMPTS)
  }

  const deleteFlowRows = (userId: UserId, onlyCreatedAt: number | null) =>
    keyRows(
      onlyCreatedAt === null
        ? sql`DELETE FROM login_flows WHERE user_id = ${userId} RETURNING user_id`
        : sql`DELETE FROM login_flows WHERE user_id = ${userId} AND created_at = ${onlyCreatedAt} RETURNING user_id`
    )

  // --- methods ------------------------------------------------------------

  const getGrant = Effect.fn("Storage.getGrant")(
    function* (userId: UserId) {
      const found = yield* grantRows(sql`SELECT * FROM grants WHERE user_id = ${userId}`)
      return yield* rows.readGrant(userId, Option.fromNullable(found[0]))
    },
    Effect.mapError(storageError("getGrant"))
  )

  const putGrant = Effect.fn("Storage.putGrant")(
    function* (grant: Grant) {
      const row = yield* grantToRow(grant)
      const previous = yield* replaceGrant(row).pipe(sql.withTransaction)
      return yield* rows.previousGrant("putGrant")(previous)
    },
    Effect.mapError(storageError("putGrant"))
  )

  const completeFlow = Effect.fn("Storage.completeFlow")(
    function* (grant: Grant, flowCreatedAt?: number) {
      const row = yield* grantToRow(grant)
      const previous = yield* replaceGrant(row).pipe(
        Effect.zipLeft(deleteFlowRows(grant.userId, flowCreatedAt ?? null)),
        sql.withTransaction
      )
      return yield* rows.previousGrant("completeFlow")(previous)
    },
    Effect.mapError(storageError("completeFlow"))
  )

  const updateScopes = Effect.fn("Storage.updateScopes")(
    function* (userId: UserId, scopes: ReadonlyArray<Scope> | null, at: number) {
      const updated = yield* keyRows(
        sql`UPDATE grants SET scopes = ${jsonParam(scopes)}::jsonb, updated_at = ${at}
          WHERE user_id = ${userId} RETURNING user_id`
      )
      return updated.length > 0
    },
    Effect.mapError(storageError("updateScopes"))
  )

  const setNcUserId = Effect.fn("Storage.setNcUserId")(
    function* (userId: UserId, ncUserId: string, at: number, onlyCreatedAt?: number) {
      const updated = yield* keyRows(
        onlyCreatedAt === undefined
          ? sql`UPDATE grants SET nc_user_id = ${ncUserId}, updated_at = ${at} WHERE user_id = ${userId} RETURNING user_id`
          : sql`UPDATE grants SET nc_user_id = ${ncUserId}, updated_at = ${at}
              WHERE user_id = ${userId} AND created_at = ${onlyCreatedAt} RETURNING user_id`
      )
      return updated.length > 0
    },
    Effect.mapError(storageError("setNcUserId"))
  )

  const deleteGrant = Effect.fn("Storage.deleteGrant")(
    function* (userId: UserId, onlyCreatedAt?: number) {
      const deleted = yield* grantRows(
        onlyCreatedAt === undefined
          ? sql`DELETE FROM grants WHERE user_id = ${userId} RETURNING *`
          : sql`DELETE FROM grants WHERE user_id = ${userId} AND created_at = ${onlyCreatedAt} RETURNING *`
      )
      return yield* rows.previousGrant("deleteGrant")(Option.fromNullable(deleted[0]))
    },
    Effect.mapError(storageError("deleteGrant"))
  )

  const getFlow = Effect.fn("Storage.getFlow")(
    function* (userId: UserId) {
      const found = yield* flowRows(sql`SELECT * FROM login_flows WHERE user_id = ${userId}`)
      return yield* rows.readFlow(userId, Option.fromNullable(found[0]))
    },
    Effect.mapError(storageError("getFlow"))
  )

  const putFlow = Effect.fn("Storage.putFlow")(
    function* (flow: PendingFlow) {
      const row = yield* flowToRow(flow)
      yield* sql`INSERT INTO login_flows ${sql.insert(row)}
        ON CONFLICT (user_id) DO UPDATE SET
          poll_token_enc = EXCLUDED.poll_token_enc,
          poll_endpoint = EXCLUDED.poll_endpoint,
          login_url_enc = EXCLUDED.login_url_enc,
          requested_scopes = EXCLUDED.requested_scopes,
          purpose = EXCLUDED.purpose,
          elicitation_id = EXCLUDED.elicitation_id,
          created_at = EXCLUDED.created_at,
          expires_at = EXCLUDED.expires_at,
          lease_owner = NULL,
          lease_until = NULL`
    },
    Effect.mapError(storageError("putFlow"))
  )

  const deleteFlow = Effect.fn("Storage.deleteFlow")(
    function* (userId: UserId, onlyCreatedAt?: number) {
      return (yield* deleteFlowRows(userId, onlyCreatedAt ?? null)).length > 0
    },
    Effect.mapError(storageError("deleteFlow"))
  )

  const listActiveFlows = Effect.fn("Storage.listActiveFlows")(
    function* (now: number, limit: number) {
      if (limit <= 0) return []
      const active = yield* flowRows(
        sql`SELECT * FROM login_flows WHERE expires_at > ${now}
          ORDER BY created_at ASC, user_id ASC LIMIT ${Math.floor(limit)}`
      )
      return yield* rows.readableFlows(active)
    },
    Effect.mapError(storageError("listActiveFlows"))
  )

  const deleteExpiredFlows = Effect.fn("Storage.deleteExpiredFlows")(
    function* (before: number) {
      return yield* count(
        sql`WITH gone AS (DELETE FROM login_flows WHERE expires_at < ${before} RETURNING 1)
          SELECT count(*)::integer AS n FROM gone`
      )
    },
    Effect.mapError(storageError("deleteExpiredFlows"))
  )

  const claimFlows = Effect.fn("Storage.claimFlows")(
    function* (owner: string, now: number, leaseMs: number, limit: number) {
      if (limit <= 0) return []
      const until = now + Math.max(0, leaseMs)
      const claimed = yield* flowRows(
        sql`WITH claimed AS (
            UPDATE login_flows SET lease_owner = ${owner}, lease_until = ${until}
            WHERE user_id IN (
              SELECT user_id FROM login_flows
              WHERE expires_at > ${now}
                AND (lease_until IS NULL OR lease_until <= ${now} OR lease_owner = ${owner})
              ORDER BY COALESCE(lease_until, 0) ASC, created_at ASC, user_id ASC
              LIMIT ${Math.floor(limit)}
              FOR UPDATE SKIP LOCKED)
            RETURNING *)
          SELECT * FROM claimed ORDER BY created_at ASC, user_id ASC`
      )
      return yield* rows.readableFlows(claimed)
    },
    Effect.mapError(storageError("claimFlows"))
  )

  const releaseFlow = Effect.fn("Storage.releaseFlow")(
    function* (userId: UserId, owner: string) {
      const updated = yield* keyRows(
        sql`UPDATE login_flows SET lease_owner = NULL, lease_until = NULL
          WHERE user_id = ${userId} AND lease_owner = ${owner} RETURNING user_id`
      )
      return updated.length > 0
    },
    Effect.mapError(storageError("releaseFlow"))
  )

  const recordFlowStart = Effect.fn("Storage.recordFlowStart")(
    function* (userId: UserId, at: number) {
      yield* sql`INSERT INTO flow_starts (user_id, at) VALUES (${userId}, ${at})`
    },
    Effect.mapError(storageError("recordFlowStart"))
  )

  const flowStartsSince = Effect.fn("Storage.flowStartsSince")(
    function* (userId: UserId, since: number) {
      const starts = yield* rowsOf(AtRow)(
        sql`SELECT at FROM flow_starts WHERE user_id = ${userId} AND at >= ${since} ORDER BY at ASC`
      )
      return starts.map((r) => r.at)
    },
    Effect.mapError(storageError("flowStartsSince"))
  )

  const audit = Effect.fn("Storage.audit")(
    function* (entry: AuditEntry) {
      yield* sql`INSERT INTO audit_log (at, user_id, event, detail)
        VALUES (${entry.at}, ${entry.userId}, ${entry.event}, ${JSON.stringify(entry.detail)}::jsonb)`
    },
    Effect.mapError(storageError("audit"))
  )

  const auditCoalesced = Effect.fn("Storage.auditCoalesced")(
    function* (entry: AuditEntry, repeat: AuditRepeat) {
      const row = coalescedAuditRow(entry, repeat)
      yield* sql`INSERT INTO audit_log (at, user_id, event, detail, repeat_key, repeat_window)
        VALUES (${row.at}, ${row.user_id}, ${row.event}, ${JSON.stringify(row.detail)}::jsonb, ${row.repeat_key}, ${row.repeat_window})
        ON CONFLICT (user_id, event, repeat_key, repeat_window) DO UPDATE SET
          count = audit_log.count + 1,
          last_at = GREATEST(COALESCE(audit_log.last_at, audit_log.at), EXCLUDED.at)`
    },
    Effect.mapError(storageError("auditCoalesced"))
  )

  const auditLog = Effect.fn("Storage.auditLog")(
    function* (userId: UserId | null, limit: number) {
      if (limit <= 0) return []
      const entries = yield* rowsOf(AuditRecordRow)(
        userId === null
          ? sql`SELECT at, user_id, event, detail, count, COALESCE(last_at, at) AS last_at FROM audit_log
              ORDER BY at DESC, id DESC LIMIT ${Math.floor(limit)}`
          : sql`SELECT at, user_id, event, detail, count, COALESCE(last_at, at) AS last_at FROM audit_log
              WHERE user_id = ${userId} ORDER BY at DESC, id DESC LIMIT ${Math.floor(limit)}`
      )
      return entries.map(auditRecordFromRow)
    },
    Effect.mapError(storageError("auditLog"))
  )

  const pruneHistory = Effect.fn("Storage.pruneHistory")(
    function* (before: number) {
      return yield* count(
        sql`WITH gone AS (DELETE FROM audit_log WHERE at < ${before} RETURNING 1)
          SELECT count(*)::integer AS n FROM gone`
      ).pipe(Effect.zipLeft(sql`DELETE FROM flow_starts WHERE at < ${before}`), sql.withTransaction)
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

export interface PgStorageOptions {
  /** `postgres://` or `postgresql://` URL (libpq-style query parameters allowed). */
  readonly url: Redacted.Redacted<string>
  /**
   * Schema holding the tables (created if missing): lower-case letters,
   * digits and `_`, starting with a letter or `_`. Default: the URL's
   * `search_path`.
   */
  readonly schema?: string
  /** Connections in this process's pool (default 10). */
  readonly maxConnections?: number
  /**
   * Deadline of each storage operation (default 5 s), also the server's
   * `statement_timeout`: past it the operation fails with a `StorageError`,
   * answered or not (see ./deadline.ts).
   */
  readonly operationTimeout?: Duration.DurationInput
  /** Opening a connection, or waiting for a free one (default 5 s). */
  readonly connectTimeout?: Duration.DurationInput
}

const DEFAULT_OPERATION_TIMEOUT = Duration.seconds(5)
const DEFAULT_CONNECT_TIMEOUT = Duration.seconds(5)
/** See ./pgConnection.ts: longer than any statement may take, and than an idle pooled connection lives. */
const SILENCE_LIMIT = Duration.seconds(30)

const limitsOf = (options: PgStorageOptions): PgConnectionLimits => {
  const operation = Duration.decode(options.operationTimeout ?? DEFAULT_OPERATION_TIMEOUT)
  return {
    connectTimeout: options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT,
    statementTimeout: operation,
    idleInTransactionTimeout: Duration.times(operation, 2),
    silenceLimit: Duration.max(SILENCE_LIMIT, Duration.times(operation, 3))
  }
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Advisory-lock namespace of this application ("ncmc"); the second key is the schema. */
const LOCK_NAMESPACE = 0x6e636d63

const configError = (message: string) => new StorageError({ operation: "connect", cause: { message } })

/** The URL the pool connects with: the connection limits and `search_path` added. */
const connectionUrl = (options: PgStorageOptions): Effect.Effect<Redacted.Redacted<string>, StorageError> =>
  Effect.gen(function* () {
    // URL errors quote their input, password included: keep only our message.
    const url = yield* Effect.try({
      try: () => new URL(Redacted.value(options.url)),
      catch: () => configError("The database URL is not a valid URL")
    })
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
      return yield* configError(`The database URL must start with postgres:// or postgresql:// (got ${url.protocol}//)`)
    }
    const limited = withLimits(url, limitsOf(options))
    if (options.schema === undefined) return Redacted.make(limited.toString())
    if (!SCHEMA_NAME.test(options.schema)) {
      return yield* configError(
        "The database schema name must be lower-case letters, digits and _ (at most 63, not starting with a digit)"
      )
    }
    const existing = limited.searchParams.get("options")
    limited.searchParams.set("options", `${existing === null ? "" : `${existing} `}-c search_path=${options.schema}`)
    return Redacted.make(limited.toString())
  })

/** Texts that must never appear in an error: the URL and its password. */
const urlSecrets = (url: Redacted.Redacted<string>): ReadonlyArray<string> => {
  const text = Redacted.value(url)
  const parsed = Option.liftThrowable(() => new URL(text))()
  const password = Option.match(parsed, { onNone: () => "", onSome: (u) => u.password })
  const decoded = Option.getOrElse(Option.liftThrowable(decodeURIComponent)(password), () => password)
  return [text, password, decoded].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)
}

/** Create the schema if missing, then migrate, under an advisory lock for the schema. */
const setup = (schema: string | undefined) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* Effect.gen(function* () {
      // Waiting for another replica's migration, or migrating a large table, may take longer than a statement may.
      yield* sql`SET LOCAL statement_timeout = 0`
      yield* sql`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, hashtext(coalesce(${schema ?? null}::text, current_schema()::text, '')))`
      if (schema !== undefined) {
        // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists.
        const found = yield* sql`SELECT 1 FROM pg_namespace WHERE nspname = ${schema}`
        if (found.length === 0) yield* sql`CREATE SCHEMA ${sql(schema)}`
      }
      // The Migrator probes for its table with a query that fails when it is
      // missing, which would abort this transaction: create it first (same
      // definition as the Migrator's).
      yield* sql`CREATE TABLE IF NOT EXISTS effect_sql_migrations (
        migration_id integer PRIMARY KEY,
        created_at timestamp with time zone NOT NULL DEFAULT now(),
        name text NOT NULL
      )`
      yield* Migrator.make({})({ loader })
    }).pipe(sql.withTransaction)
  })

/**
 * The migrated database: `PgClient` + `SqlClient`. Exposed for tests and
 * maintenance tasks; the application uses {@link layer}.
 */
export const layerClient = (
  options: PgStorageOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, StorageError> => {
  const scrub = scrubber(urlSecrets(options.url))
  const fail = (operation: string) => (cause: Cause.Cause<unknown>) => {
    const error = Cause.squash(cause)
    return Layer.fail(
      error instanceof StorageError ? error : new StorageError({ operation, cause: sanitize(error, scrub) })
    )
  }
  const client = Layer.unwrapEffect(
    Effect.map(connectionUrl(options), (url) =>
      PgClient.layer({
        url,
        applicationName: "nextcloud-mcp",
        ...clientOptions(limitsOf(options)),
        ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections })
      })
    )
  ).pipe(Layer.catchAllCause(fail("connect")))
  const migrated = Layer.effectDiscard(setup(options.schema)).pipe(Layer.catchAllCause(fail("migrate")))
  return migrated.pipe(Layer.provideMerge(client))
}

/** `Storage` on the PostgreSQL database at `url` (tables in `schema` if given), each operation under its deadline. */
export const layer = (options: PgStorageOptions): Layer.Layer<Storage, StorageError, Cipher> =>
  Layer.effect(
    Storage,
    Effect.map(make, (storage) => withDeadline(storage, options.operationTimeout ?? DEFAULT_OPERATION_TIMEOUT))
  ).pipe(Layer.provide(layerClient(options)))

export const PgStorage = { make, layer, layerClient } as const
