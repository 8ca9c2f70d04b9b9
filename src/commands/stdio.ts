/** `nextcloud-mcp stdio`: one local user over stdin/stdout. */
import { Deferred, Effect, Layer, type Runtime } from "effect"
import { coreLayer, nextcloudLayer, provisioningConfigLayer } from "../app.js"
import * as AppConfig from "../Config.js"
import type { UserId } from "../domain/Ids.js"
import { serveStdio } from "../mcp/stdio.js"
import { allTools } from "../apps/registry.js"
import { loginTasks } from "../tools/loginTasks.js"
import {
  checkKeySettings,
  grantChangesFromSettings,
  type StartupError,
  startup,
  storageFromSettings,
  warnIfInsecure,
  withoutTracer
} from "./startup.js"

export const runStdio = Effect.gen(function* () {
  const nextcloud = yield* startup(AppConfig.nextcloudSettings)
  const storage = yield* startup(AppConfig.storageSettings)
  const lifecycle = yield* startup(AppConfig.lifecycleSettings)
  const user = yield* startup(AppConfig.stdioUser)
  yield* checkKeySettings(storage)
  yield* warnIfInsecure(nextcloud)
  const app = coreLayer({
    storage: storageFromSettings(storage),
    grantChanges: grantChangesFromSettings(storage),
    nextcloud: nextcloudLayer(nextcloud),
    provisioning: provisioningConfigLayer(lifecycle)
  })
  // The handshake does not wait for storage and the layer graph: a desktop
  // client sees `initialize` answered while they are built, and tool calls wait.
  const built = yield* Deferred.make<Runtime.Runtime<Layer.Layer.Success<typeof app>>, StartupError>()
  yield* Effect.logInfo("serving MCP over stdio", { user })
  yield* startup(Layer.toRuntime(withoutTracer(app))).pipe(
    Effect.tap(() => Effect.logDebug("storage and services ready")),
    Effect.exit,
    Effect.flatMap((exit) => Deferred.done(built, exit)),
    Effect.forkScoped
  )
  const runtime = Effect.runPromise(Deferred.await(built))
  runtime.catch(() => undefined) // reported below, through the Deferred
  yield* Effect.raceFirst(
    serveStdio({ userId: user as UserId, tools: allTools, runtime, tasks: loginTasks }),
    Deferred.await(built).pipe(Effect.zipRight(Effect.never))
  )
  // A startup failure is reported (exit 1) even when the client left first.
  yield* Deferred.await(built)
}).pipe(Effect.scoped)

