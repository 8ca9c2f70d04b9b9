/**
 * Login Flow v2 routes (docs/nextcloud-protocol.md §3–§5, §10): init, poll, and minimal
 * browser pages. The pages let a person try the flow by hand (pick a user,
 * "Grant access"); tests act as the browser through the hooks instead.
 * Every route is served with and without `/index.php`.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Either } from "effect"
import { requestAuth } from "./auth.js"
import {
  clientAllowed,
  externalBase,
  findFlow,
  frontController,
  grantFlow,
  grantFlowWithAppPassword,
  initFlow,
  loginUrlOf,
  pollEndpointOf,
  pollFlow
} from "./flows.js"
import { escapeHtml, header, htmlPage, jsonResponse, requestOrigin, requestParams, trimSlash } from "./http.js"
import { type Flow, now, type SimState } from "./state.js"

const FLOW_COOKIE = "nc_sim_login_flow"

const unauthorized = HttpServerResponse.text("Unauthorized", { status: 401 })
const throttled = HttpServerResponse.text("Reached maximum delay", { status: 429 })

/** Bad credentials on a public route still fail the request (index.php logs the client in first). */
const rejectBadCredentials = (state: SimState) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const auth = yield* requestAuth(state, request)
    return auth._tag === "Failed" ? unauthorized : auth._tag === "Throttled" ? throttled : undefined
  })

const init = (state: SimState) =>
  Effect.gen(function* () {
    const rejected = yield* rejectBadCredentials(state)
    if (rejected !== undefined) return rejected
    const request = yield* HttpServerRequest.HttpServerRequest
    const flow = yield* initFlow(state, header(request, "user-agent") ?? "")
    const base = externalBase(state, requestOrigin(state, request))
    return jsonResponse({
      poll: { token: flow.pollToken, endpoint: pollEndpointOf(state, base) },
      login: loginUrlOf(state, base, flow)
    })
  })

const poll = (state: SimState) =>
  Effect.gen(function* () {
    const rejected = yield* rejectBadCredentials(state)
    if (rejected !== undefined) return rejected
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* requestParams(request)
    const credentials = yield* pollFlow(state, params.get("token"))
    return credentials === undefined ? jsonResponse([], 404) : jsonResponse(credentials)
  })

const invalidToken = htmlPage(403, "Access forbidden", "<h2>Your login token is invalid or has expired</h2>")
const forbiddenClient = htmlPage(403, "Access forbidden", "<h2>Please use original client</h2>")

/** The flow a browser page is about, or the 403 page to show instead. */
const browserFlow = (state: SimState, loginToken: string | undefined) =>
  Effect.gen(function* () {
    if (loginToken === undefined || loginToken === "") return Either.left(invalidToken)
    const at = yield* now(state)
    const found = yield* Effect.sync(() => findFlow(state, loginToken, at))
    if (Either.isLeft(found) || found.right.loginToken !== loginToken || found.right.state._tag !== "Pending") {
      return Either.left(invalidToken)
    }
    const flow = found.right
    if (!(yield* clientAllowed(state, flow.clientName))) return Either.left(forbiddenClient)
    return Either.right(flow)
  })

const landing = (state: SimState) =>
  Effect.gen(function* () {
    const { token } = yield* HttpRouter.params
    const found = yield* browserFlow(state, token)
    if (Either.isLeft(found)) return found.left
    const flow = found.right
    flow.started = true
    return HttpServerResponse.redirect(`${frontController(state)}/login/v2/flow`, { status: 302 }).pipe(
      HttpServerResponse.unsafeSetCookie(FLOW_COOKIE, flow.loginToken, { path: "/", httpOnly: true, sameSite: "lax" })
    )
  })

const authPicker = (state: SimState, flow: Flow) => {
  const client = escapeHtml(flow.clientName)
  const options = [...state.users.values()]
    .map((u) => `<option value="${escapeHtml(u.userId)}">${escapeHtml(u.displayName)} (${escapeHtml(u.loginName)})</option>`)
    .join("")
  const fc = frontController(state)
  const stateToken = escapeHtml(flow.loginToken)
  return htmlPage(
    200,
    `Connect to your account - ${state.config.instanceName}`,
    `<h2>Connect to your account</h2>
<p>Please log in before granting "${client}" access to your ${escapeHtml(state.config.instanceName)} account.</p>
<p><strong>Security warning</strong>: if you are not trying to set up a new device or app, someone is trying to trick you into granting them access to your data.</p>
<form method="post" action="${fc}/login/v2/grant">
<input type="hidden" name="stateToken" value="${stateToken}">
<label>Log in as <select name="user">${options}</select></label>
<button type="submit">Grant access</button>
</form>
<details><summary>Alternative log in using app password</summary>
<form method="post" action="${fc}/login/v2/apptoken">
<input type="hidden" name="stateToken" value="${stateToken}">
<label>Login <input name="user"></label>
<label>App password <input name="password" type="password"></label>
<button type="submit">Grant access</button>
</form></details>`
  )
}

const picker = (state: SimState) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const found = yield* browserFlow(state, request.cookies[FLOW_COOKIE])
    return Either.isLeft(found) ? found.left : authPicker(state, found.right)
  })

const connected = htmlPage(
  200,
  "Account connected",
  "<h2>Account connected</h2><p>Your client should now be connected! You can close this window.</p>"
)

/** `server` comes from the browser's request (scheme, host, webroot), unless configured. */
const browserServer = (state: SimState, request: HttpServerRequest.HttpServerRequest): string =>
  trimSlash(state.config.serverUrl ?? requestOrigin(state, request))

const grant = (state: SimState, withAppPassword: boolean) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* requestParams(request)
    const stateToken = params.get("stateToken")
    if (stateToken === undefined || stateToken === "") return htmlPage(403, "Access forbidden", "<h2>State token missing</h2>")
    const found = yield* browserFlow(state, stateToken)
    if (Either.isLeft(found)) return found.left
    const server = browserServer(state, request)
    const user = params.get("user") ?? ""
    const result = withAppPassword
      ? grantFlowWithAppPassword(state, { flow: stateToken, loginName: user, appPassword: params.get("password") ?? "", server })
      : grantFlow(state, { flow: stateToken, userId: user, server })
    return yield* result.pipe(
      Effect.as(connected),
      Effect.catchAll((e) =>
        Effect.succeed(htmlPage(403, "Access forbidden", `<h2>${escapeHtml(withAppPassword ? "Invalid app password" : e.message)}</h2>`))
      )
    )
  })

const both = (path: `/${string}`): ReadonlyArray<HttpRouter.PathInput> => [path, `/index.php${path}`]

export const loginFlowRoutes = (state: SimState): HttpRouter.HttpRouter =>
  HttpRouter.fromIterable(
    [
      ...both("/login/v2").map((p) => HttpRouter.makeRoute("POST", p, init(state))),
      ...both("/login/v2/poll").map((p) => HttpRouter.makeRoute("POST", p, poll(state))),
      ...both("/login/v2/flow/:token").map((p) => HttpRouter.makeRoute("GET", p, landing(state))),
      ...both("/login/v2/flow").map((p) => HttpRouter.makeRoute("GET", p, picker(state))),
      ...both("/login/v2/grant").map((p) => HttpRouter.makeRoute("POST", p, grant(state, false))),
      ...both("/login/v2/apptoken").map((p) => HttpRouter.makeRoute("POST", p, grant(state, true)))
    ]
  )
