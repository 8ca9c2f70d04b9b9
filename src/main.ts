#!/usr/bin/env node
/**
 * The command line (CONTRACT §1). Composes the layer graph once per command
 * and runs it; a configuration error exits 1 with one readable line.
 */
import { Command, HelpDoc, Options, Span } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { coreLayer, nextcloudLayer, provisioningConfigLayer, stderrLogger } from "./app.js"
import * as AppConfig from "./Config.js"
import type { UserId } from "./domain/Ids.js"
import { SERVER_VERSION } from "./mcp/server.js"
import { serveHttp } from "./mcp/http.js"
import { serveStdio } from "./mcp/stdio.js"
import { runSimulator } from "./simulator/main.js"
import * as StorageLayer from "./storage/layer.js"
import type { Storage } from "./storage/Storage.js"
import { allTools } from "./tools/registry.js"

/** A startup failure the user can fix: printed as one line, exit code 1. */
class StartupError extends Error {
  override readonly name = "StartupError"
}

const environmentHelp = HelpDoc.blocks([
  HelpDoc.h2("Environment"),
  HelpDoc.descriptionList(
    AppConfig.ENVIRONMENT.map((v): [Span.Span, HelpDoc.HelpDoc] => [
      Span.text(v.name),
      HelpDoc.p(`${v.description} Default: ${v.default}.`)
    ]) as unknown as readonly [[Span.Span, HelpDoc.HelpDoc], ...Array<[Span.Span, HelpDoc.HelpDoc]>]
  )
])

const withEnvironmentHelp = (summary: string) => HelpDoc.sequence(HelpDoc.p(summary), environmentHelp)

const failStartup = (message: string) => Effect.fail(new StartupError(message))

/** Turn configuration, key and storage failures at startup into one readable line. */
const startup = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, StartupError, R> =>
  effect.pipe(
    Effect.catchAll((error: unknown) => {
      if (error instanceof StartupError) return Effect.fail(error)
      if (AppConfig.isConfigError(error)) return failStartup(`configuration error: ${AppConfig.describeConfigError(error)}`)
      if (typeof error === "object" && error !== null && "_tag" in error) {
        const tagged = error as { readonly _tag: string; readonly message?: string; readonly operation?: string }
        if (tagged._tag === "EncryptionKeyError") return failStartup(`configuration error: ${tagged.message}`)
        if (tagged._tag === "StorageError")
          return failStartup(`could not open the database (${tagged.operation ?? "open"}); check NC_MCP_DB`)
        if (tagged._tag === "CipherError")
          return failStartup("the encryption key does not decrypt the stored secrets; check NC_MCP_ENCRYPTION_KEY")
        if (tagged._tag === "SimulatorStartError") return failStartup(tagged.message ?? "the simulator could not start")
        if (tagged._tag === "ServeError") return failStartup("could not listen on the requested address and port (in use, or not allowed)")
      }
      return Effect.die(error)
    })
  )

const storageFromSettings = (
  settings: AppConfig.StorageSettings
): Layer.Layer<Storage, StorageLayer.StorageLayerError | StartupError> =>
  Option.isSome(settings.databaseUrl)
    ? Layer.fail(
        new StartupError(
          "configuration error: NC_MCP_DATABASE_URL is set, but PostgreSQL storage is not available in this version; unset it to use SQLite (NC_MCP_DB)"
        )
      )
    : StorageLayer.layerFromKeyText({
        filename: settings.dbPath,
        keyText: Option.getOrUndefined(settings.encryptionKey)
      })

const warnIfInsecure = (settings: AppConfig.NextcloudSettings) =>
  settings.verifySsl
    ? Effect.void
    : Effect.logWarning("NEXTCLOUD_VERIFY_SSL=false: TLS certificates of Nextcloud are not verified")

const stdio = Command.make("stdio", {}, () =>
  Effect.gen(function* () {
    const nextcloud = yield* startup(AppConfig.nextcloudSettings)
    const storage = yield* startup(AppConfig.storageSettings)
    const lifecycle = yield* startup(AppConfig.lifecycleSettings)
    const user = yield* startup(AppConfig.stdioUser)
    yield* warnIfInsecure(nextcloud)
    const app = coreLayer({
      storage: storageFromSettings(storage),
      nextcloud: nextcloudLayer(nextcloud),
      provisioning: provisioningConfigLayer(lifecycle)
    })
    const runtime = yield* startup(Layer.toRuntime(app))
    yield* serveStdio({ userId: user as UserId, tools: allTools, runtime })
  }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    withEnvironmentHelp(
      "Serve MCP over stdin/stdout for one local user (NC_MCP_USER). Logs go to stderr; stdout carries only JSON-RPC."
    )
  )
)

const httpHost = Options.text("host").pipe(
  Options.withDefault("127.0.0.1"),
  Options.withDescription("Address to listen on (0.0.0.0 for every interface, e.g. behind a reverse proxy in a container).")
)

const httpPort = Options.integer("port").pipe(
  Options.withDefault(8000),
  Options.withDescription("Port to listen on; 0 picks a free one (the address is logged).")
)

const http = Command.make("http", { host: httpHost, port: httpPort }, ({ host, port }) =>
  Effect.gen(function* () {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return yield* failStartup("--port must be between 0 and 65535")
    const nextcloud = yield* startup(AppConfig.nextcloudSettings)
    const settings = yield* startup(AppConfig.httpSettings)
    const storage = yield* startup(AppConfig.storageSettings)
    const lifecycle = yield* startup(AppConfig.lifecycleSettings)
    yield* warnIfInsecure(nextcloud)
    const app = coreLayer({
      storage: storageFromSettings({ ...storage, encryptionKey: Option.some(settings.encryptionKey) }),
      nextcloud: nextcloudLayer(nextcloud),
      provisioning: provisioningConfigLayer(lifecycle)
    })
    const runtime = yield* startup(Layer.toRuntime(app))
    yield* startup(
      serveHttp({
        host,
        port,
        issuer: settings.issuer,
        jwksUrl: settings.jwksUrl,
        audience: settings.audience,
        publicUrl: settings.publicUrl,
        tools: allTools,
        runtime
      }).pipe(
        Effect.catchTag("ServeError", (error) => {
          const code = (error.cause as { readonly code?: unknown } | undefined)?.code
          const why = code === "EADDRINUSE" ? "the port is in use" : code === "EACCES" ? "permission denied" : "the address is not available"
          return failStartup(`could not listen on ${host}:${port}: ${why} (--host, --port)`)
        })
      )
    )
    return yield* Effect.never
  }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    withEnvironmentHelp(
      "Serve MCP Streamable HTTP at /mcp for many users. Every request needs a bearer JWT from NC_MCP_OIDC_ISSUER; its `sub` is the user. GET /healthz answers without auth; OAuth protected resource metadata is at /.well-known/oauth-protected-resource/mcp."
    )
  )
)

const simulatePort = Options.integer("port").pipe(
  Options.withDefault(8080),
  Options.withDescription("Port on 127.0.0.1 for the simulated Nextcloud.")
)

const simulate = Command.make("simulate", { port: simulatePort }, ({ port }) =>
  startup(runSimulator({ port }))
).pipe(
  Command.withDescription(
    "Run the built-in simulated Nextcloud (Login Flow v2, OCS) on 127.0.0.1, with test hooks under /__sim, to try the product without a real server."
  )
)

// Loaded on demand, so starting the server does not load the demo's MCP client.
const demo = Command.make("demo", {}, () => Effect.flatMap(Effect.promise(() => import("./demo/Demo.js")), (m) => m.runDemo)).pipe(
  Command.withDescription("Show the whole product end to end: a simulated Nextcloud, this server over stdio and an MCP client, step by step.")
)

const root = Command.make("nextcloud-mcp").pipe(
  Command.withDescription(
    withEnvironmentHelp(
      "An MCP server that lets AI assistants work in your Nextcloud without you pasting a password: access is granted through Nextcloud Login Flow v2, per user and per scope."
    )
  ),
  Command.withSubcommands([stdio, http, simulate, demo])
)

const cli = Command.run(root, { name: "nextcloud-mcp", version: SERVER_VERSION })

const logLevel = Effect.runSyncExit(AppConfig.logLevel)
if (Exit.isFailure(logLevel)) {
  const failure = Cause.failureOption(logLevel.cause)
  process.stderr.write(
    `nextcloud-mcp: configuration error: ${Option.isSome(failure) ? AppConfig.describeConfigError(failure.value) : "NC_MCP_LOG_LEVEL is invalid"}\n`
  )
  process.exit(1)
}

const program = cli(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  Effect.provide(stderrLogger(logLevel.value)),
  Effect.onExit((exit) =>
    Effect.sync(() => {
      if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure) && failure.value instanceof StartupError) {
        process.stderr.write(`nextcloud-mcp: ${failure.value.message}\n`)
      } else if (Option.isSome(failure)) {
        // @effect/cli validation errors have already been printed with usage.
      } else {
        process.stderr.write(`nextcloud-mcp: unexpected failure\n${Cause.pretty(exit.cause)}\n`)
      }
    })
  )
)

NodeRuntime.runMain(program, { disableErrorReporting: true })
