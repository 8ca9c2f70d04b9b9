/**
 * `Storage` on PostgreSQL (`@effect/sql-pg`): ./SqlStorage.ts over one
 * database shared by several server replicas. What is PostgreSQL's own:
 *
 * - `schema` puts every table in that schema (`search_path`, sent as a
 *   startup option; created if missing). Without it the URL's default
 *   `search_path` applies.
 * - Migrations (./migrations) run in one transaction holding
 *   `pg_advisory_xact_lock` for the schema, so replicas starting together
 *   migrate once and the others wait and find the work done.
 * - Concurrent writers: replacing a grant locks the current row
 *   (`SELECT … FOR UPDATE`), and flow leases pick rows `FOR UPDATE SKIP
 *   LOCKED` (see ./statements.ts).
 * - Errors never carry the connection URL or its password (scrubbed from
 *   connect and migrate failures; statement failures are reduced to the
 *   server's code and message, ./errors.ts). Text columns cannot hold NUL
 *   characters on PostgreSQL; such a value fails with a `StorageError`.
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
import { Cause, Duration, Effect, Layer, Option, Redacted } from "effect"
import type { Cipher } from "./Cipher.js"
import { withDeadline } from "./deadline.js"
import { reduceCause, scrubber } from "./errors.js"
import { loader } from "./migrations/index.js"
import { clientOptions, type PgConnectionLimits, withLimits } from "./pgConnection.js"
import { make } from "./SqlStorage.js"
import { Storage, StorageError } from "./Storage.js"

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
      error instanceof StorageError ? error : new StorageError({ operation, cause: reduceCause(error, scrub) })
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
