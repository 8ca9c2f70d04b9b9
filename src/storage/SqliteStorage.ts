/**
 * `Storage` on SQLite (better-sqlite3 through `@effect/sql-sqlite-node`):
 * ./SqlStorage.ts over a database file that several local processes may
 * share. What is SQLite's own:
 *
 * - The database file's folder is created (mode 0700) if missing, and a new
 *   database file is created with mode 0600 (SQLite gives its -wal/-shm
 *   files the same mode).
 * - WAL journal, `busy_timeout` so several local processes can share the
 *   file, `foreign_keys` on.
 * - Migrations (./migrations) run under a write lock, so two processes
 *   starting on a fresh file do not race.
 * - Single writer: replacing or deleting a row that returns the previous
 *   value starts with the write (`DELETE … RETURNING`) inside the
 *   transaction, and flow leases are one `UPDATE … RETURNING` under the
 *   write lock (see ./statements.ts).
 */
import { FileSystem, Path } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Cause, Effect, Layer } from "effect"
import type { Cipher } from "./Cipher.js"
import { loader } from "./migrations/index.js"
import { make } from "./SqlStorage.js"
import { Storage, StorageError } from "./Storage.js"

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
