/**
 * The test hooks over HTTP, under `/__sim/…` (JSON in, JSON out), so another
 * process (`nextcloud-mcp simulate`, the demo, an outside test suite) can act
 * as the browser and drive faults. Errors: `{ "error": <reason>, "message" }`
 * with 400 (bad input), 403, 404, 409 or 410.
 */
import { HttpRouter, HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import type { SimulatorControl } from "./control.js"
import { FaultSpec } from "./faultSpecs.js"
import { hookJson } from "./http.js"
import { MintTokenInput } from "./oidc.js"
import type { SimulatorHookError, SimulatorHookErrorReason, SimState } from "./state.js"

const GrantBody = Schema.Struct({
  flow: Schema.String,
  userId: Schema.String,
  loginName: Schema.optional(Schema.String),
  server: Schema.optional(Schema.String)
})
const GrantWithAppPasswordBody = Schema.Struct({
  flow: Schema.String,
  loginName: Schema.String,
  appPassword: Schema.String,
  server: Schema.optional(Schema.String)
})
const FlowBody = Schema.Struct({ flow: Schema.String })
const UserBody = Schema.Struct({
  userId: Schema.String.pipe(Schema.minLength(1)),
  loginName: Schema.optional(Schema.String),
  displayName: Schema.optional(Schema.String),
  email: Schema.optional(Schema.String),
  password: Schema.optional(Schema.String)
})
const CreateAppPasswordBody = Schema.Struct({
  userId: Schema.String,
  name: Schema.optional(Schema.String),
  loginName: Schema.optional(Schema.String),
  format: Schema.optional(Schema.Literal("long", "dashed"))
})
const AppPasswordBody = Schema.Struct({ appPassword: Schema.String })
const AdvanceBody = Schema.Struct({ millis: Schema.Number.pipe(Schema.nonNegative()) })
const exact = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })
const ConfigBody = Schema.Struct({
  externalBaseUrl: exact(Schema.NullOr(Schema.String)),
  overwriteWebroot: exact(Schema.String),
  indexPhp: exact(Schema.Boolean),
  serverUrl: exact(Schema.NullOr(Schema.String)),
  allowedUserAgents: exact(Schema.Array(Schema.String)),
  bruteForceMaxAttempts: exact(Schema.NullOr(Schema.Number.pipe(Schema.int(), Schema.positive()))),
  instanceName: exact(Schema.String)
})
const DisableAppsBody = Schema.Struct({ user: exact(Schema.String), apps: Schema.Array(Schema.String) })
/** The body of a hook that takes none. */
export const Empty = Schema.Struct({})
const STATUS: Record<SimulatorHookErrorReason, number> = {
  UnknownFlow: 404,
  FlowExpired: 410,
  FlowNotPending: 409,
  ClientNotAllowed: 403,
  UnknownUser: 404,
  UserExists: 409,
  InvalidAppPassword: 403,
  UnknownAppPassword: 404,
  UnknownFault: 404,
  UnknownPath: 404,
  InvalidRequest: 400
}

type Handler = Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest | HttpRouter.RouteContext>

/** A hook route: decode the JSON body (empty = `{}`), run the hook, answer JSON (errors as above). */
export const hook = <A, I, B>(
  schema: Schema.Schema<A, I>,
  run: (input: A, params: Readonly<Record<string, string | undefined>>) => Effect.Effect<B, SimulatorHookError>,
  status = 200
): Handler =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpRouter.params
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    const input = yield* Schema.decodeUnknown(Schema.parseJson(schema))(text.trim() === "" ? "{}" : text)
    const result = yield* run(input, params)
    return hookJson(result === undefined ? { ok: true } : result, status)
  }).pipe(
    Effect.catchTags({
      ParseError: (e) => Effect.succeed(hookJson({ error: "InvalidRequest", message: e.message }, 400)),
      SimulatorHookError: (e) => Effect.succeed(hookJson({ error: e.reason, message: e.message }, STATUS[e.reason]))
    })
  )

const ENDPOINTS = [
  "GET    /__sim                                  this index",
  "GET    /__sim/flows                            live login flows",
  "POST   /__sim/flows/grant                      {flow, userId, loginName?, server?} (flow = login URL or token)",
  "POST   /__sim/flows/grant-with-app-password    {flow, loginName, appPassword, server?}",
  "POST   /__sim/flows/deny                       {flow}",
  "GET    /__sim/users                            users",
  "POST   /__sim/users                            {userId, loginName?, displayName?, email?, password?}",
  "GET    /__sim/users/{userId}/app-passwords     a user's app passwords (alive or not)",
  "POST   /__sim/app-passwords                    {userId, name?, loginName?, format?: long|dashed}",
  "POST   /__sim/app-passwords/revoke             {appPassword} (as if deleted in Settings)",
  "POST   /__sim/app-passwords/status             {appPassword} -> alive|revoked|rotated|unknown",
  "GET    /__sim/clock                            {now}",
  "POST   /__sim/clock/advance                    {millis}",
  "GET    /__sim/faults                           active faults",
  "POST   /__sim/faults                           {target, fault, times?, phase?} -> {id}; fault._tag: Latency {millis} | Status {status} | MalformedJson | Drop | HugeBody {bytes, contentType: json|xml, announce?} | EndlessChunks {sameCursor?}",
  "DELETE /__sim/faults[/{id}]                    clear all faults, or one",
  "GET    /__sim/counters                         {inits, polls, successfulPolls, requests}",
  "POST   /__sim/counters/reset",
  "GET    /__sim/config                           current settings",
  "POST   /__sim/config                           {externalBaseUrl?, overwriteWebroot?, indexPhp?, serverUrl?, allowedUserAgents?, bruteForceMaxAttempts?, instanceName?}",
  "POST   /__sim/brute-force/reset",
  "POST   /__sim/apps/disabled                    {user?, apps} Nextcloud app ids disabled for a user (or everyone); replaces the last",
  "POST   /__sim/oidc/token                       {sub?, scope?, audience?, expiresInSeconds?} -> {access_token, …}: a bearer token for http mode (issuer: this URL)"
] as const

/** The core's hooks; the mounted apps add theirs (`SimulatorApp.hookEndpoints`). */
export const hookEndpoints: ReadonlyArray<string> = ENDPOINTS

/** The core's hooks, and the index of every hook (`endpoints`: the core's and the apps'). */
export const hookRoutes = (state: SimState, control: SimulatorControl, endpoints: ReadonlyArray<string>): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/__sim", hook(Empty, () => Effect.succeed({ url: state.url, endpoints }))),
    HttpRouter.get("/__sim/flows", hook(Empty, () => control.listFlows)),
    HttpRouter.post("/__sim/flows/grant", hook(GrantBody, (input) => control.grant(input))),
    HttpRouter.post(
      "/__sim/flows/grant-with-app-password",
      hook(GrantWithAppPasswordBody, (input) => control.grantWithAppPassword(input))
    ),
    HttpRouter.post("/__sim/flows/deny", hook(FlowBody, (input) => control.deny(input.flow))),
    HttpRouter.get("/__sim/users", hook(Empty, () => control.listUsers)),
    HttpRouter.post("/__sim/users", hook(UserBody, (input) => control.addUser(input), 201)),
    HttpRouter.get(
      "/__sim/users/:userId/app-passwords",
      hook(Empty, (_, params) => control.listAppPasswords(params["userId"] ?? ""))
    ),
    HttpRouter.post("/__sim/app-passwords", hook(CreateAppPasswordBody, (input) => control.createAppPassword(input), 201)),
    HttpRouter.post("/__sim/app-passwords/revoke", hook(AppPasswordBody, (input) => control.revokeAppPassword(input.appPassword))),
    HttpRouter.post(
      "/__sim/app-passwords/status",
      hook(AppPasswordBody, (input) => Effect.map(control.appPasswordStatus(input.appPassword), (status) => ({ status })))
    ),
    HttpRouter.concat(clockFaultAndConfigRoutes(control))
  )

const clockFaultAndConfigRoutes = (control: SimulatorControl): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/__sim/clock", hook(Empty, () => Effect.map(control.now, (now) => ({ now })))),
    HttpRouter.post(
      "/__sim/clock/advance",
      hook(AdvanceBody, (input) => Effect.zipRight(control.advanceClock(input.millis), Effect.map(control.now, (now) => ({ now }))))
    ),
    HttpRouter.get("/__sim/faults", hook(Empty, () => control.listFaults)),
    HttpRouter.post("/__sim/faults", hook(FaultSpec, (spec) => Effect.map(control.injectFault(spec), (id) => ({ id })), 201)),
    HttpRouter.del("/__sim/faults", hook(Empty, () => control.clearFaults())),
    HttpRouter.del("/__sim/faults/:id", hook(Empty, (_, params) => control.clearFaults(params["id"] ?? ""))),
    HttpRouter.get("/__sim/counters", hook(Empty, () => control.counters)),
    HttpRouter.post("/__sim/counters/reset", hook(Empty, () => control.resetCounters)),
    HttpRouter.get("/__sim/config", hook(Empty, () => control.configure({}))),
    HttpRouter.post("/__sim/config", hook(ConfigBody, (patch) => control.configure(patch))),
    HttpRouter.post("/__sim/brute-force/reset", hook(Empty, () => control.resetBruteForce)),
    HttpRouter.post("/__sim/apps/disabled", hook(DisableAppsBody, (input) => control.disableApps(input))),
    HttpRouter.post("/__sim/oidc/token", hook(MintTokenInput, (input) => control.mintToken(input)))
  )
