/**
 * One-line composition of `Storage` for the application.
 *
 * - {@link layer}: SQLite file (or `:memory:`) + a 32-byte key.
 * - {@link layerFromKeyText}: the CONTRACT §2 rules for `NC_MCP_DB` /
 *   `NC_MCP_ENCRYPTION_KEY`: the key text when given, otherwise the key file
 *   `<db>.key` (created with mode 0600 on first use); a `:memory:` database
 *   without a key gets a random one for the life of the process. Whether a
 *   missing key is acceptable (stdio) or an error (http) is the caller's call.
 * - {@link layerFromSettings}: the backend choice. `NC_MCP_DATABASE_URL` set
 *   selects PostgreSQL, which requires `NC_MCP_ENCRYPTION_KEY` (several
 *   replicas must share one key, so none is generated); otherwise SQLite as
 *   in {@link layerFromKeyText}.
 *
 * Each also takes the previous keys (`NC_MCP_PREVIOUS_ENCRYPTION_KEYS`):
 * they still decrypt what they encrypted, while new secrets are encrypted
 * with the current key (see `Cipher`, and `rotate-key`).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { Effect, Layer, Option, type Redacted } from "effect"
import { Cipher, type CipherError } from "./Cipher.js"
import {
  ENV_VAR as KEY_ENV_VAR,
  EncryptionKeyError,
  generateKey,
  loadOrCreateKeyFile,
  parseKey,
  parsePreviousKeys
} from "./EncryptionKey.js"
import { GrantChanges, inProcess } from "./GrantChanges.js"
import * as SqliteGrantChanges from "./SqliteGrantChanges.js"
import * as SqliteStorage from "./SqliteStorage.js"
import type { Storage, StorageError } from "./Storage.js"

export type StorageLayerError = StorageError | CipherError | EncryptionKeyError

/** `Storage` on `filename`, encrypting secrets with `key`. */
export const layer = (options: {
  readonly filename: string
  readonly key: Redacted.Redacted<Uint8Array>
  /** Keys that still decrypt (key rotation). */
  readonly previousKeys?: ReadonlyArray<Redacted.Redacted<Uint8Array>>
  readonly busyTimeoutMs?: number
}): Layer.Layer<Storage, StorageError | CipherError> =>
  SqliteStorage.layer(
    options.busyTimeoutMs === undefined
      ? { filename: options.filename }
      : { filename: options.filename, busyTimeoutMs: options.busyTimeoutMs }
  ).pipe(Layer.provide(Cipher.layer(options.key, options.previousKeys ?? [])))

/** Where the generated key of a database file lives. */
export const keyFilePath = (filename: string): string => `${filename}.key`

/** The key from its text if given, else from (or into) `<filename>.key`. */
export const resolveKey = (options: {
  readonly filename: string
  readonly keyText: Redacted.Redacted<string> | undefined
}): Effect.Effect<Redacted.Redacted<Uint8Array>, EncryptionKeyError> => {
  if (options.keyText !== undefined) return parseKey(options.keyText)
  if (options.filename === ":memory:") return generateKey
  return loadOrCreateKeyFile(keyFilePath(options.filename)).pipe(
    Effect.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer))
  )
}

/** `Storage` on `filename` with the key resolved by {@link resolveKey}. */
export const layerFromKeyText = (options: {
  readonly filename: string
  readonly keyText: Redacted.Redacted<string> | undefined
  /** `NC_MCP_PREVIOUS_ENCRYPTION_KEYS`: comma-separated keys that still decrypt. */
  readonly previousKeysText?: Redacted.Redacted<string> | undefined
  readonly busyTimeoutMs?: number
}): Layer.Layer<Storage, StorageLayerError> =>
  Layer.unwrapEffect(
    Effect.flatMap(parsePreviousKeys(options.previousKeysText), (previousKeys) =>
      Effect.map(resolveKey(options), (key) =>
        layer(
          options.busyTimeoutMs === undefined
            ? { filename: options.filename, key, previousKeys }
            : { filename: options.filename, key, previousKeys, busyTimeoutMs: options.busyTimeoutMs }
        )
      )
    )
  )

/** Loaded on demand, so SQLite deployments never load the PostgreSQL driver. */
const loadPgStorage = Effect.promise(() => import("./PgStorage.js"))

/** `Storage` on PostgreSQL at `url`, encrypting secrets with `key`. */
export const layerPg = (options: {
  readonly url: Redacted.Redacted<string>
  readonly key: Redacted.Redacted<Uint8Array>
  /** Keys that still decrypt (key rotation). */
  readonly previousKeys?: ReadonlyArray<Redacted.Redacted<Uint8Array>>
  readonly schema?: string
}): Layer.Layer<Storage, StorageError | CipherError> =>
  Layer.unwrapEffect(
    Effect.map(loadPgStorage, (PgStorage) =>
      PgStorage.layer(
        options.schema === undefined ? { url: options.url } : { url: options.url, schema: options.schema }
      ).pipe(Layer.provide(Cipher.layer(options.key, options.previousKeys ?? [])))
    )
  )

/**
 * The storage backend from the settings: PostgreSQL when `databaseUrl` is
 * set (the key text is then required: fails with an `EncryptionKeyError`
 * naming `NC_MCP_ENCRYPTION_KEY` without it), else SQLite on `filename` with
 * the key from {@link resolveKey}.
 */
export const layerFromSettings = (options: {
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly filename: string
  readonly keyText: Redacted.Redacted<string> | undefined
  /** `NC_MCP_PREVIOUS_ENCRYPTION_KEYS`: comma-separated keys that still decrypt. */
  readonly previousKeysText?: Redacted.Redacted<string> | undefined
  /** PostgreSQL schema for the tables (default: the URL's `search_path`). */
  readonly databaseSchema?: string
}): Layer.Layer<Storage, StorageLayerError> =>
  Option.match(options.databaseUrl, {
    onNone: () =>
      layerFromKeyText({ filename: options.filename, keyText: options.keyText, previousKeysText: options.previousKeysText }),
    onSome: (url) => {
      const keyText = options.keyText
      return keyText === undefined
        ? Layer.fail(
            new EncryptionKeyError({
              message: `${KEY_ENV_VAR} is required with PostgreSQL storage (NC_MCP_DATABASE_URL): every replica must use the same key, so none is generated; set it to 32 random bytes in base64 (generate one with \`openssl rand -base64 32\`)`
            })
          )
        : Layer.unwrapEffect(
            Effect.flatMap(parsePreviousKeys(options.previousKeysText), (previousKeys) =>
              Effect.map(parseKey(keyText), (key) =>
                layerPg(
                  options.databaseSchema === undefined
                    ? { url, key, previousKeys }
                    : { url, key, previousKeys, schema: options.databaseSchema }
                )
              )
            )
          )
    }
  })

/** Loaded on demand, like {@link loadPgStorage}. */
const loadPgGrantChanges = Effect.promise(() => import("./PgGrantChanges.js"))

/**
 * How grant changes reach the other processes, chosen with the storage:
 * PostgreSQL `LISTEN`/`NOTIFY` (channel per schema) when `databaseUrl` is
 * set; else the change log in the SQLite file `filename`, which several
 * local processes may share; in-process for `:memory:` (nobody else sees it).
 */
export const grantChangesFromSettings = (options: {
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly databaseSchema?: string
  readonly filename: string
}): Layer.Layer<GrantChanges, StorageError> =>
  Option.match(options.databaseUrl, {
    onNone: () =>
      SqliteStorage.isMemory(options.filename)
        ? Layer.succeed(GrantChanges, inProcess)
        : SqliteGrantChanges.layer({ filename: options.filename }),
    onSome: (url) =>
      Layer.unwrapEffect(
        Effect.map(loadPgGrantChanges, (PgGrantChanges) =>
          PgGrantChanges.layer(
            options.databaseSchema === undefined ? { url } : { url, schema: options.databaseSchema }
          )
        )
      )
  })
