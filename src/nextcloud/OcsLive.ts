/**
 * OCS v2 calls made with a user's app password (docs/nextcloud-protocol.md §6, §7).
 *
 * Basic auth is `loginName:appPassword`; every call sends `OCS-APIRequest:
 * true` (without it Nextcloud answers 412 "CSRF check failed"). Both the HTTP
 * status and `ocs.meta.statuscode` are checked (997 = unauthorised).
 *
 * Retries: `currentUser` (a GET) is retried on a refused connection or a 5xx
 * (see call.ts). A 401 is never retried: every failed Basic login counts towards Nextcloud's
 * brute-force throttle for this server's IP. `revokeAppPassword` is not
 * retried either; its caller may repeat it (a second DELETE answers 401,
 * which counts as success).
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Layer, Schema } from "effect"
import { makeCaller } from "./call.js"
import { decodeJsonBody, underBase } from "./http.js"
import { NextcloudConfig } from "./NextcloudConfig.js"
import { type Credentials, type NextcloudUser, Ocs } from "./Ocs.js"
import { NextcloudUnauthorized, unexpectedStatus } from "./errors.js"

const OptionalName = Schema.optional(Schema.NullOr(Schema.String))

/** `GET /ocs/v2.php/cloud/user?format=json` → 200 body (only the fields used). */
export const CurrentUserResponse = Schema.Struct({
  ocs: Schema.Struct({
    meta: Schema.Struct({ statuscode: Schema.Number }),
    data: Schema.Struct({
      id: Schema.String.pipe(Schema.minLength(1)),
      displayname: OptionalName,
      "display-name": OptionalName
    })
  })
})

/** Just the meta part, to read an OCS status code when `data` is not a user. */
const OcsMeta = Schema.Struct({
  ocs: Schema.Struct({ meta: Schema.Struct({ statuscode: Schema.Number }) })
})

const OCS_UNAUTHORISED = 997

const ocsRequest = (request: HttpClientRequest.HttpClientRequest, credentials: Credentials) =>
  request.pipe(
    HttpClientRequest.setUrlParam("format", "json"),
    HttpClientRequest.setHeader("OCS-APIRequest", "true"),
    HttpClientRequest.basicAuth(credentials.loginName, credentials.appPassword)
  )

/** Statuses shared by OCS calls, with a short detail that names the likely reason. */
const statusDetail = (status: number): string | undefined => {
  switch (status) {
    case 403:
      return "forbidden"
    case 412:
      return "CSRF check failed (OCS-APIRequest header not accepted)"
    case 429:
      return "throttled by Nextcloud (too many failed logins from this address)"
    case 503:
      return "Nextcloud is in maintenance mode or unavailable"
    default:
      return undefined
  }
}

export const OcsLive: Layer.Layer<Ocs, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  Ocs,
  Effect.gen(function*() {
    const config = yield* NextcloudConfig
    const nc = makeCaller(yield* HttpClient.HttpClient, config)

    const currentUser = Effect.fn("Ocs.currentUser")(function*(credentials: Credentials) {
      const operation = "Ocs.currentUser"
      const response = yield* nc.text(
        operation,
        ocsRequest(HttpClientRequest.get(underBase(config.host, "ocs/v2.php/cloud/user")), credentials),
        { idempotent: true }
      )
      if (response.status === 401) return yield* new NextcloudUnauthorized({ operation })
      if (response.status !== 200) {
        return yield* unexpectedStatus(operation, response.status, statusDetail(response.status))
      }
      const meta = yield* decodeJsonBody(OcsMeta, operation)(response)
      if (meta.ocs.meta.statuscode === OCS_UNAUTHORISED) return yield* new NextcloudUnauthorized({ operation })
      if (meta.ocs.meta.statuscode !== 200 && meta.ocs.meta.statuscode !== 100) {
        return yield* unexpectedStatus(operation, response.status, `OCS status ${meta.ocs.meta.statuscode}`)
      }
      const body = yield* decodeJsonBody(CurrentUserResponse, operation)(response)
      const data = body.ocs.data
      const displayName = data["display-name"] ?? data.displayname ?? null
      const user: NextcloudUser = { id: data.id, displayName: displayName === "" ? null : displayName }
      return user
    })

    const revokeAppPassword = Effect.fn("Ocs.revokeAppPassword")(function*(credentials: Credentials) {
      const operation = "Ocs.revokeAppPassword"
      const response = yield* nc.text(
        operation,
        ocsRequest(HttpClientRequest.del(underBase(config.host, "ocs/v2.php/core/apppassword")), credentials),
        { idempotent: false }
      )
      // 200: deleted. 401: the password no longer works, so it is gone as far as we can tell.
      if (response.status === 200 || response.status === 401) return
      if (response.status === 403) {
        return yield* unexpectedStatus(operation, 403, "forbidden: the credentials are not an app password")
      }
      return yield* unexpectedStatus(operation, response.status, statusDetail(response.status))
    })

    return Ocs.of({ currentUser, revokeAppPassword })
  })
)
