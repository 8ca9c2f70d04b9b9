/** `nextcloud-mcp stdio`: one local user over stdin/stdout. */
import { Effect, Layer } from "effect"
import { coreLayer, nextcloudLayer, provisioningConfigLayer } from "../app.js"
import * as AppConfig from "../Config.js"
import type { UserId } from "../domain/Ids.js"
import { serveStdio } from "../mcp/stdio.js"
import { allTools } from "../tools/registry.js"
import { grantChangesFromSettings, startup, storageFromSettings, warnIfInsecure, withoutTracer } from "./startup.js"

export const runStdio = Effect.gen(function* () {
  const nextcloud = yield* startup(AppConfig.nextcloudSettings)
  const storage = yield* startup(AppConfig.storageSettings)
  const lifecycle = yield* startup(AppConfig.lifecycleSettings)
  const user = yield* startup(AppConfig.stdioUser)
  yield* warnIfInsecure(nextcloud)
  const app = coreLayer({
    storage: storageFromSettings(storage),
    grantChanges: grantChangesFromSettings(storage),
    nextcloud: nextcloudLayer(nextcloud),
    provisioning: provisioningConfigLayer(lifecycle)
  })
  const runtime = yield* startup(Layer.toRuntime(withoutTracer(app)))
  yield* serveStdio({ userId: user as UserId, tools: allTools, runtime })
}).pipe(Effect.scoped)

