/**
 * OCS v2 routes the product uses (docs/nextcloud-protocol.md §6, §7): who am I, delete /
 * rotate the app password in use, and convert a real password into an app
 * password. Order of checks as in Nextcloud: brute-force throttle, login
 * from the Authorization header (401/997 on failure), CSRF (412 without
 * `OCS-APIRequest: true`), then the route's own login requirement.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { mintAppPassword, revokeRecord, rotateRecord, type AuthResult } from "./accounts.js"
import { requestAuth } from "./auth.js"
import { header, searchParams } from "./http.js"
import { enabledAppsFor, now, type SimState } from "./state.js"

export type OcsFormat = "json" | "xml"

export const formatOf = (request: HttpServerRequest.HttpServerRequest): OcsFormat => {
  const format = searchParams(request).get("format")
  if (format === "json") return "json"
  if (format === "xml") return "xml"
  return (header(request, "accept") ?? "").includes("application/json") ? "json" : "xml"
}

const xmlEscape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const toXml = (value: unknown): string => {
  if (value === null || value === undefined) return ""
  if (Array.isArray(value)) return value.map((v) => `<element>${toXml(v)}</element>`).join("")
  if (typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).map(([k, v]) => `<${k}>${toXml(v)}</${k}>`).join("")
  }
  return xmlEscape(String(value))
}

export interface OcsReply {
  readonly httpStatus: number
  readonly statuscode: number
  readonly message: string
  readonly data: unknown
  readonly headers?: Record<string, string>
}

export const ok = (data: unknown): OcsReply => ({ httpStatus: 200, statuscode: 200, message: "OK", data })
export const failure = (httpStatus: number, statuscode: number, message: string): OcsReply => ({
  httpStatus,
  statuscode,
  message,
  data: [],
  ...(httpStatus === 401 ? { headers: { "WWW-Authenticate": 'Basic realm="Authorisation Required"' } } : {})
})

export const render = (format: OcsFormat, reply: OcsReply): HttpServerResponse.HttpServerResponse => {
  const meta = {
    status: reply.statuscode === 200 ? "ok" : "failure",
    statuscode: reply.statuscode,
    message: reply.message,
    totalitems: "",
    itemsperpage: ""
  }
  const body =
    format === "json"
      ? HttpServerResponse.text(JSON.stringify({ ocs: { meta, data: reply.data } }), {
          status: reply.httpStatus,
          contentType: "application/json; charset=utf-8"
        })
      : HttpServerResponse.text(
          `<?xml version="1.0"?>\n<ocs><meta>${toXml(meta)}</meta><data>${toXml(reply.data)}</data></ocs>\n`,
          { status: reply.httpStatus, contentType: "application/xml; charset=utf-8" }
        )
  return reply.headers === undefined ? body : HttpServerResponse.setHeaders(body, reply.headers)
}

export type LoggedIn = Extract<AuthResult, { readonly _tag: "AppPassword" | "LoginPassword" }>

const notLoggedIn = failure(401, 997, "Current user is not logged in")
const noAppPassword = failure(403, 403, "no app password in use")

/** Wrap an OCS handler with Nextcloud's checks; the handler sees a logged-in user. Apps' OCS routes use it too. */
export const ocsRoute = <R>(state: SimState, handler: (auth: LoggedIn) => Effect.Effect<OcsReply, never, R>) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const format = formatOf(request)
    const auth = yield* requestAuth(state, request)
    if (auth._tag === "Throttled") return render(format, failure(429, 429, "Reached maximum delay"))
    if (auth._tag === "Failed") return render(format, failure(401, 997, "Unauthorised"))
    const bearer = (header(request, "authorization") ?? "").toLowerCase().startsWith("bearer ")
    if (header(request, "ocs-apirequest")?.toLowerCase() !== "true" && !bearer) {
      return HttpServerResponse.text(JSON.stringify({ message: "CSRF check failed" }), {
        status: 412,
        contentType: "application/json; charset=utf-8"
      })
    }
    if (auth._tag === "Anonymous") return render(format, notLoggedIn)
    return render(format, yield* handler(auth))
  })

const currentUser = (state: SimState) =>
  ocsRoute(state, (auth) =>
    Effect.succeed(
      ok({
        id: auth.user.userId,
        displayname: auth.user.displayName,
        "display-name": auth.user.displayName,
        email: auth.user.email,
        enabled: true
      })
    )
  )

const deleteAppPassword = (state: SimState) =>
  ocsRoute(state, (auth) =>
    auth._tag !== "AppPassword"
      ? Effect.succeed(noAppPassword)
      : Effect.flatMap(now(state), (at) =>
          Effect.sync(() => {
            revokeRecord(state, auth.record, at)
            return ok([])
          })
        )
  )

const rotateAppPassword = (state: SimState) =>
  ocsRoute(state, (auth) =>
    auth._tag !== "AppPassword"
      ? Effect.succeed(noAppPassword)
      : Effect.map(rotateRecord(state, auth.record), (apppassword) => ok({ apppassword }))
  )

const getAppPassword = (state: SimState) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const name = header(request, "user-agent") ?? ""
    return yield* ocsRoute(state, (auth) =>
      auth._tag === "AppPassword"
        ? Effect.succeed(failure(403, 403, "You cannot request an new apppassword with an apppassword"))
        : Effect.map(
            mintAppPassword(state, { userId: auth.user.userId, loginName: auth.user.loginName, name, format: "long" }),
            (record) => ok({ apppassword: record.password })
          )
    )
  })

/** The user's navigation: the enabled apps that have an entry, as `core/navigation/apps` lists them. */
const navigationApps = (state: SimState) =>
  ocsRoute(state, (auth) =>
    Effect.succeed(
      ok(
        enabledAppsFor(state, auth.user.userId).flatMap((app, index) =>
          app.name === undefined
            ? []
            : [
                {
                  id: app.id,
                  order: index + 1,
                  href: `/index.php/apps/${app.id}/`,
                  icon: `/apps/${app.id}/img/app.svg`,
                  type: "link",
                  name: app.name,
                  active: false,
                  classes: "",
                  unread: 0
                }
              ]
        )
      )
    )
  )

const unknownOcs = (state: SimState) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    return render(formatOf(request), failure(404, 998, "Invalid query, please check the syntax. API specifications are here: http://www.freedesktop.org/wiki/Specifications/open-collaboration-services."))
  })

/** What `cloud/capabilities` says about the core itself. */
const coreCapabilities = {
  core: { pollinterval: 60, "webdav-root": "remote.php/webdav", "reference-api": true }
}

/** A mounted app's capabilities, read per request (a hook may change them), and the Nextcloud app they belong to. */
export interface AppCapabilities {
  /** The part's `nextcloudApp.id`: disabling that app for a user hides these too. */
  readonly app: string | undefined
  readonly capabilities: () => Record<string, unknown>
}

/**
 * `GET /ocs/v2.php/cloud/capabilities`: the core's capabilities and, for the
 * apps enabled for the caller, each app's: the static ones of its
 * `nextcloudApp` under its id, and those its mounted part reports
 * (`MountedApp.capabilities`), under `data.capabilities`.
 */
const capabilitiesRoute = (state: SimState, mounted: ReadonlyArray<AppCapabilities>) =>
  ocsRoute(state, (auth) =>
    Effect.sync(() => {
      const enabled = enabledAppsFor(state, auth.user.userId)
      const enabledIds = new Set(enabled.map((app) => app.id))
      return ok({
        version: { major: 31, minor: 0, micro: 0, string: "31.0.0", edition: "", extendedSupport: false },
        capabilities: Object.assign(
          {},
          coreCapabilities,
          ...enabled.flatMap((app) => (app.capabilities === undefined ? [] : [{ [app.id]: app.capabilities }])),
          ...mounted.flatMap((part) =>
            part.app === undefined || enabledIds.has(part.app) ? [part.capabilities()] : []
          )
        )
      })
    })
  )

export const ocsRoutes = (state: SimState, capabilities: ReadonlyArray<AppCapabilities> = []): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/ocs/v2.php/cloud/capabilities", capabilitiesRoute(state, capabilities)),
    HttpRouter.get("/ocs/v2.php/cloud/user", currentUser(state)),
    HttpRouter.del("/ocs/v2.php/core/apppassword", deleteAppPassword(state)),
    HttpRouter.post("/ocs/v2.php/core/apppassword/rotate", rotateAppPassword(state)),
    HttpRouter.get("/ocs/v2.php/core/getapppassword", getAppPassword(state)),
    HttpRouter.get("/ocs/v2.php/core/navigation/apps", navigationApps(state)),
    HttpRouter.all("/ocs/*", unknownOcs(state))
  )
