/**
 * The simulated Nextcloud (docs/nextcloud-protocol.md §10): an HTTP server on
 * 127.0.0.1 that speaks Login Flow v2 and the OCS calls the product makes,
 * plus test hooks (Effect API here, HTTP under `/__sim`). Nextcloud apps
 * (Notes, WebDAV, …) are parts it mounts (`apps`, see SimulatorApp.ts); it
 * knows none of them itself.
 *
 * Time: flow expiry is checked against the ambient `Clock` plus
 * `advanceClock` offsets, so under `TestClock` both move the simulator's
 * time (and latency faults wait on `TestClock` too).
 */
import { createServer } from "node:http"
import { HttpRouter, HttpServerRequest } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Data, Effect, Layer, type Scope } from "effect"
import { makeControl, type SimulatorControl } from "./control.js"
import { withTraffic } from "./faults.js"
import { hookEndpoints, hookRoutes } from "./hooks.js"
import { htmlPage } from "./http.js"
import { loginFlowRoutes } from "./loginflow.js"
import { ocsRoutes } from "./ocs.js"
import { makeOidcIssuer } from "./oidc.js"
import { CORE_ROUTE_KEYS, pathOf, routeKeys } from "./routeKeys.js"
import type { AnySimulatorApp, ControlOfApps } from "./SimulatorApp.js"
import { DEFAULT_USERS, makeState, type SimUserInput } from "./state.js"

export interface SimulatorOptions<Apps extends ReadonlyArray<AnySimulatorApp> = ReadonlyArray<AnySimulatorApp>> {
  /** The Nextcloud apps to serve besides login flow and OCS (the registered apps' parts). Default: none. */
  readonly apps?: Apps | undefined
  /** Default 0: an ephemeral port. */
  readonly port?: number | undefined
  /** Default 127.0.0.1. */
  readonly host?: string | undefined
  /** Default: `DEFAULT_USERS` (alice; ada with login name ada@example.org ≠ uid). */
  readonly users?: ReadonlyArray<SimUserInput> | undefined
  /**
   * Base of `login` and `poll.endpoint` (overwritehost / overwriteprotocol /
   * proxy setups). Default: the Host header of the init request. A function
   * receives the simulator's own URL (useful with ephemeral ports).
   */
  readonly externalBaseUrl?: string | ((simulatorUrl: string) => string) | undefined
  /**
   * Put verbatim between the base and the path of generated `login` and
   * `poll.endpoint` URLs (Nextcloud's `overwritewebroot`; see `SimConfig`).
   * Default "".
   */
  readonly overwriteWebroot?: string | undefined
  /** Put `/index.php` in generated URLs. Default true. */
  readonly indexPhp?: boolean | undefined
  /** `server` reported by a completed flow. Default: the browser's origin (hooks: external base URL, else own URL). */
  readonly serverUrl?: string | ((simulatorUrl: string) => string) | undefined
  /** `core.login_flow_v2.allowed_user_agents` (regex sources). Default: none (all allowed). */
  readonly allowedUserAgents?: ReadonlyArray<string> | undefined
  /** Failed logins per IP before 429. Default off; `true` = 10 attempts. */
  readonly bruteForce?: boolean | { readonly maxAttempts: number } | undefined
  readonly instanceName?: string | undefined
  /** Nextcloud app ids (a part's `nextcloudApp.id`) disabled for every user; their routes still answer. Default: none. */
  readonly disabledApps?: ReadonlyArray<string> | undefined
}

/** A running simulator: the core's hooks, the mounted apps' (`Control`), and its URL. */
export type SimulatorHandle<Control = unknown> = SimulatorControl &
  Control & {
    /** `http://127.0.0.1:<port>`, no trailing slash. */
    readonly url: string
  }

/** The simulator could not listen (e.g. the port is taken). */
export class SimulatorStartError extends Data.TaggedError("SimulatorStartError")<{
  readonly host: string
  readonly port: number
  readonly cause: unknown
}> {
  override get message(): string {
    return `The simulated Nextcloud could not listen on ${this.host}:${this.port}`
  }
}

const resolve = (value: string | ((url: string) => string) | undefined, url: string): string | null =>
  value === undefined ? null : typeof value === "function" ? value(url) : value

const notFound = htmlPage(404, "Not found", "<h2>Page not found</h2>")

/** Every hook of the core and of `apps`, for the `/__sim` index. */
export const allHookEndpoints = (apps: ReadonlyArray<AnySimulatorApp>): ReadonlyArray<string> => [
  ...hookEndpoints,
  ...apps.flatMap((app) => app.hookEndpoints)
]

/** Start the simulator with `options.apps` mounted; it stops (closing open connections) when the scope closes. */
export const make = <const Apps extends ReadonlyArray<AnySimulatorApp> = readonly []>(
  options: SimulatorOptions<Apps> = {}
): Effect.Effect<SimulatorHandle<ControlOfApps<Apps>>, SimulatorStartError, Scope.Scope> =>
  Effect.gen(function* () {
    const apps: ReadonlyArray<AnySimulatorApp> = options.apps ?? []
    const host = options.host ?? "127.0.0.1"
    const port = options.port ?? 0
    const bruteForce = options.bruteForce
    const state = makeState(
      {
        externalBaseUrl: null,
        overwriteWebroot: options.overwriteWebroot ?? "",
        indexPhp: options.indexPhp ?? true,
        serverUrl: null,
        allowedUserAgents: options.allowedUserAgents ?? [],
        bruteForceMaxAttempts:
          bruteForce === undefined || bruteForce === false ? null : bruteForce === true ? 10 : bruteForce.maxAttempts,
        instanceName: options.instanceName ?? "Nextcloud"
      },
      options.users ?? DEFAULT_USERS
    )
    state.installedApps = apps.flatMap((app) => (app.nextcloudApp === undefined ? [] : [app.nextcloudApp]))
    if (options.disabledApps !== undefined) state.disabledApps.set("*", new Set(options.disabledApps))
    const mounted = apps.map((app) => app.mount(state))
    const oidc = yield* makeOidcIssuer(state)
    const control = Object.assign(
      makeControl(state, [...CORE_ROUTE_KEYS, ...apps.flatMap((app) => app.routeKeys)], oidc.mintToken),
      ...mounted.map((app) => app.control)
    ) as SimulatorControl & ControlOfApps<Apps>

    const node = createServer()
    const server = yield* NodeHttpServer.make(() => node, { port, host }).pipe(
      Effect.mapError((e) => new SimulatorStartError({ host, port, cause: e.cause }))
    )
    // NodeHttpServer's own release waits for keep-alive connections to end.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        node.close()
        node.closeAllConnections()
      })
    )
    const address = server.address
    const url = address._tag === "TcpAddress" ? `http://${address.hostname}:${address.port}` : `http://${host}:${port}`
    state.url = url
    state.config.externalBaseUrl = resolve(options.externalBaseUrl, url)
    state.config.serverUrl = resolve(options.serverUrl, url)

    const router = HttpRouter.concatAll(
      loginFlowRoutes(state),
      ocsRoutes(
        state,
        mounted.flatMap((part, i) =>
          part.capabilities === undefined ? [] : [{ app: apps[i]?.nextcloudApp?.id, capabilities: part.capabilities }]
        )
      ),
      oidc.routes,
      hookRoutes(state, control, allHookEndpoints(apps)),
      ...mounted.flatMap((app) => [app.routes, app.hooks])
    )
    const routed = Effect.catchTag(router, "RouteNotFound", () => Effect.succeed(notFound)).pipe(
      // Login tokens are 128 characters; the router's default limit for a path parameter is 100.
      HttpRouter.withRouterConfig({ maxParamLength: 1024 })
    )
    // Paths an app serves itself (WebDAV's methods are not router methods) go to it directly.
    const own = mounted.flatMap((app) => (app.serves === undefined ? [] : [app.serves]))
    const app = withTraffic(state, routeKeys(apps.map((part) => part.routeKey)))(
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const path = pathOf(request.url)
        return own.find((serves) => serves.path(path, request.method))?.app ?? routed
      })
    )
    yield* server.serve(app)
    yield* Effect.logDebug(`simulated Nextcloud listening on ${url}`)
    return { url, ...control }
  })

/** A running simulator in a Layer's context; its mounted apps' hooks are on the value `make` returns. */
export class Simulator extends Context.Tag("nextcloud-mcp/Simulator")<Simulator, SimulatorHandle>() {}

export const layer = (options?: SimulatorOptions): Layer.Layer<Simulator, SimulatorStartError> =>
  Layer.scoped(Simulator, make(options))
