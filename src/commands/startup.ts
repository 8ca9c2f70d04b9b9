/**
 * What every command shares at startup: turning configuration, key and
 * storage failures into one readable line (exit 1), the storage selection,
 * and running an Effect as the process with logs on stderr.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { stderrLogger } from "../app.js"
import * as AppConfig from "../Config.js"
import { parseKey, parsePreviousKeys } from "../storage/EncryptionKey.js"
import { describeOpenFailure } from "../storage/errors.js"
import * as StorageLayer from "../storage/layer.js"
import type { Storage } from "../storage/Storage.js"

/** A startup failure the user can fix: printed as one line, exit code 1. */
export class StartupError extends Error {
  override readonly name = "StartupError"
}

export const failStartup = (message: string) => Effect.fail(new StartupError(message))

/** Why a server could not listen, from the Node error under the platform's. */
export const cannotListen = (host: string, port: number, cause: unknown, flags: string) => {
  const code = (cause as { readonly code?: unknown } | undefined)?.code
  const why = code === "EADDRINUSE" ? "the port is in use" : code === "EACCES" ? "permission denied" : "the address is not available"
  return failStartup(`could not listen on ${host}:${port}: ${why} (${flags})`)
}

/** Turn configuration, key and storage failures at startup into one readable line. */
export const startup = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, StartupError, R> =>
  effect.pipe(
    Effect.catchAll((error: unknown) => {
      if (error instanceof StartupError) return Effect.fail(error)
      if (AppConfig.isConfigError(error)) return failStartup(`configuration error: ${AppConfig.describeConfigError(error)}`)
      if (typeof error === "object" && error !== null && "_tag" in error) {
        const tagged = error as { readonly _tag: string; readonly message?: string; readonly operation?: string }
        if (tagged._tag === "EncryptionKeyError") return failStartup(`configuration error: ${tagged.message}`)
        if (tagged._tag === "StorageError") {
          const failed = tagged as unknown as { readonly operation: string; readonly cause: unknown }
          return failStartup(`could not open the database: ${describeOpenFailure(failed)}`)
        }
        if (tagged._tag === "CipherError")
          return failStartup("the encryption key does not decrypt the stored secrets; check NC_MCP_ENCRYPTION_KEY")
        if (tagged._tag === "SimulatorStartError") {
          const failed = tagged as unknown as { readonly host: string; readonly port: number; readonly cause: unknown }
          return cannotListen(failed.host, failed.port, failed.cause, "--port")
        }
        if (tagged._tag === "ServeError") return failStartup("could not listen on the requested address and port (in use, or not allowed)")
      }
      return Effect.die(error)
    })
  )

/** PostgreSQL when NC_MCP_DATABASE_URL is set (the key is then required), else the SQLite file. */
export const storageFromSettings = (
  settings: AppConfig.StorageSettings
): Layer.Layer<Storage, StorageLayer.StorageLayerError> =>
  StorageLayer.layerFromSettings({
    databaseUrl: settings.databaseUrl,
    filename: settings.dbPath,
    keyText: Option.getOrUndefined(settings.encryptionKey),
    previousKeysText: Option.getOrUndefined(settings.previousEncryptionKeys),
    ...Option.match(settings.databaseSchema, { onNone: () => ({}), onSome: (databaseSchema) => ({ databaseSchema }) })
  })

/** Grant changes reach the other processes sharing the storage (PostgreSQL, or the same SQLite file). */
export const grantChangesFromSettings = (settings: AppConfig.StorageSettings) =>
  StorageLayer.grantChangesFromSettings({
    databaseUrl: settings.databaseUrl,
    filename: settings.dbPath,
    ...Option.match(settings.databaseSchema, { onNone: () => ({}), onSome: (databaseSchema) => ({ databaseSchema }) })
  })

/**
 * The command line installs no tracer, so the spans of every service call
 * would be bookkeeping nobody reads: turn them into no-ops. (Embedding
 * programs that install a tracer keep their spans.)
 */
export const withoutTracer = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.merge(layer, Layer.setTracerEnabled(false))

/**
 * Check the key variables' form before anything is served, so a malformed
 * key is a configuration error (one line, exit 1) like any other.
 */
export const checkKeySettings = (settings: AppConfig.StorageSettings) =>
  startup(
    Effect.all([
      Option.match(settings.encryptionKey, { onNone: () => Effect.void, onSome: (text) => Effect.asVoid(parseKey(text)) }),
      Effect.asVoid(parsePreviousKeys(Option.getOrUndefined(settings.previousEncryptionKeys)))
    ])
  )

export const warnIfInsecure = (settings: AppConfig.NextcloudSettings) =>
  settings.verifySsl
    ? Effect.void
    : Effect.logWarning("NEXTCLOUD_VERIFY_SSL=false: TLS certificates of Nextcloud are not verified")

/**
 * `program` with logs on stderr at NC_MCP_LOG_LEVEL; an invalid level is a
 * configuration error like any other.
 */
export const withStderrLogs = <E>(program: Effect.Effect<void, E>): Effect.Effect<void, E | StartupError> =>
  Effect.flatMap(startup(AppConfig.logLevel), (level) => Effect.provide(program, stderrLogger(level)))

/**
 * The line a start that ended this way prints on stderr (then exit 1):
 * one line for a StartupError; nothing for a success, an interruption or
 * @effect/cli's validation errors (already printed with usage).
 */
export const failureLine = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return undefined
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return `nextcloud-mcp: unexpected failure\n${Cause.pretty(exit.cause)}\n`
  return failure.value instanceof StartupError ? `nextcloud-mcp: ${failure.value.message}\n` : undefined
}

/**
 * Run `program` as the process: logs on stderr at NC_MCP_LOG_LEVEL, SIGINT and
 * SIGTERM interrupt it (finalizers run, exit 0), a StartupError prints one
 * line and exits 1.
 */
export const runProcess = <E>(program: Effect.Effect<void, E>): void => {
  const main = withStderrLogs(program).pipe(
    Effect.onExit((exit) =>
      Effect.sync(() => {
        const line = failureLine(exit)
        if (line !== undefined) process.stderr.write(line)
      })
    )
  )
  // runMain would add its own pretty logger, which writes to stdout: the MCP channel in stdio mode.
  NodeRuntime.runMain(main, { disableErrorReporting: true, disablePrettyLogger: true })
}
