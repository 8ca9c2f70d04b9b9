/**
 * Which Nextcloud apps a user can use (docs/nextcloud-protocol.md §6): the
 * user's navigation (`/ocs/v2.php/core/navigation/apps`, only the apps enabled
 * for that user, groups included) and the capabilities
 * (`/ocs/v2.php/cloud/capabilities`, which apps without a navigation entry —
 * sharing — announce). Both are OCS GETs with the user's app password, asked
 * together.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Context, Effect, Layer, Schema } from "effect"
import { makeCaller } from "./call.js"
import { NextcloudUnauthorized, type NextcloudProtocolError, type NextcloudTransportError, unexpectedStatus } from "./errors.js"
import { decodeJsonBody, underBase } from "./http.js"
import { NextcloudConfig } from "./NextcloudConfig.js"
import type { Credentials } from "./Ocs.js"

export interface EnabledApps {
  /** Ids of the user's navigation entries (`notes`, `deck`, `news`, …). */
  readonly navigation: ReadonlySet<string>
  /** Keys of the capabilities (`files_sharing`, `notes`, `deck`, …). */
  readonly capabilities: ReadonlySet<string>
}

export type EnabledAppsError = NextcloudUnauthorized | NextcloudTransportError | NextcloudProtocolError

export interface NextcloudAppsShape {
  readonly enabledApps: (credentials: Credentials) => Effect.Effect<EnabledApps, EnabledAppsError>
}

export class NextcloudApps extends Context.Tag("nextcloud-mcp/NextcloudApps")<NextcloudApps, NextcloudAppsShape>() {}

const Navigation = Schema.Struct({
  ocs: Schema.Struct({
    data: Schema.Array(Schema.Struct({ id: Schema.String }))
  })
})

const Capabilities = Schema.Struct({
  ocs: Schema.Struct({
    data: Schema.Struct({
      capabilities: Schema.Record({ key: Schema.String, value: Schema.Unknown })
    })
  })
})

export const NextcloudAppsLive: Layer.Layer<NextcloudApps, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  NextcloudApps,
  Effect.gen(function* () {
    const config = yield* NextcloudConfig
    const nc = makeCaller(yield* HttpClient.HttpClient, config)

    const ocsGet = <A, I>(operation: string, path: string, schema: Schema.Schema<A, I>, credentials: Credentials) =>
      Effect.gen(function* () {
        const request = HttpClientRequest.get(underBase(config.host, path)).pipe(HttpClientRequest.setUrlParam("format", "json"))
        const response = yield* nc.json(operation, request, credentials, { ocs: true })
        if (response.status === 401) return yield* new NextcloudUnauthorized({ operation })
        if (response.status !== 200) return yield* unexpectedStatus(operation, response.status)
        return yield* decodeJsonBody(schema, operation)(response)
      })

    const enabledApps = Effect.fn("NextcloudApps.enabledApps")(function* (credentials: Credentials) {
      const [navigation, capabilities] = yield* Effect.all(
        [
          ocsGet("NextcloudApps.navigation", "ocs/v2.php/core/navigation/apps", Navigation, credentials),
          ocsGet("NextcloudApps.capabilities", "ocs/v2.php/cloud/capabilities", Capabilities, credentials)
        ],
        { concurrency: 2 }
      )
      return {
        navigation: new Set(navigation.ocs.data.map((entry) => entry.id)),
        capabilities: new Set(Object.keys(capabilities.ocs.data.capabilities))
      } satisfies EnabledApps
    })

    return NextcloudApps.of({ enabledApps })
  })
)
