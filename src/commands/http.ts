/** `nextcloud-mcp http`: many users over Streamable HTTP with bearer identity. */
import { Effect, Layer, Option } from "effect"
import { coreLayer, nextcloudLayer, provisioningConfigLayer } from "../app.js"
import * as AppConfig from "../Config.js"
import { serveHttp } from "../mcp/http/serve.js"
import { derivedKey, parseKey } from "../storage/EncryptionKey.js"
import { allTools } from "../apps/registry.js"
import { loginTasks } from "../tools/loginTasks.js"
import { checkIssuer, warnIfNoPublicUrl } from "./httpChecks.js"
import { cannotListen, failStartup, grantChangesFromSettings, startup, storageFromSettings, warnIfInsecure, withoutTracer } from "./startup.js"

export const runHttp = ({ host, port }: { readonly host: string; readonly port: number }) =>
  Effect.gen(function* () {
  if (!Number.isInteger(port) || port < 0 || port > 65535) return yield* failStartup("--port must be between 0 and 65535")
  const nextcloud = yield* startup(AppConfig.nextcloudSettings)
  const settings = yield* startup(AppConfig.httpSettings)
  const storage = yield* startup(AppConfig.storageSettings)
  const lifecycle = yield* startup(AppConfig.lifecycleSettings)
  yield* warnIfInsecure(nextcloud)
  yield* warnIfNoPublicUrl(host, port, settings)
  yield* checkIssuer(settings)
  const app = coreLayer({
    storage: storageFromSettings({ ...storage, encryptionKey: Option.some(settings.encryptionKey) }),
    grantChanges: grantChangesFromSettings(storage),
    nextcloud: nextcloudLayer(nextcloud),
    provisioning: provisioningConfigLayer(lifecycle)
  })
  const runtime = yield* startup(Layer.toRuntime(withoutTracer(app)))
  const requestStateKey = yield* startup(Effect.map(parseKey(settings.encryptionKey), (key) => derivedKey(key, "mcp request state v1")))
  yield* startup(
    serveHttp({
      host,
      port,
      issuer: settings.issuer,
      jwksUrl: settings.jwksUrl,
      audience: settings.audience,
      publicUrl: settings.publicUrl,
      tools: allTools,
      runtime,
      tasks: loginTasks,
      requestStateKey,
      sessionIdleTimeout: settings.sessionIdleTimeout,
      maxSessionsPerUser: settings.maxSessionsPerUser,
      maxSessions: settings.maxSessions,
      maxResponseBytes: nextcloud.maxResponseBytes
    }).pipe(
      Effect.catchTag("ServeError", (error) => cannotListen(host, port, error.cause, "--host, --port"))
    )
  )
  return yield* Effect.never
}).pipe(Effect.scoped)

