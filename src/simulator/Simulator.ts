/**
 * The simulated Nextcloud (CONTRACT §6): an HTTP server on 127.0.0.1 that
 * speaks Login Flow v2 and the OCS calls the product makes, plus test hooks
 * (Effect API here, HTTP under `/__sim`).
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
import { hookRoutes } from "./hooks.js"
import { htmlPage } from "./http.js"
import { loginFlowRoutes } from "./loginflow.js"
import { notesRoutes } from "./notes.js"
import { ocsRoutes } from "./ocs.js"
import { pathOf } from "./routeKeys.js"
import { DEFAULT_USERS, makeState, type SimUserInput } from "./state.js"
import { davApp, isDavPath } from "./webdav.js"

export interface SimulatorOptions {
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
}

export interface SimulatorHandle extends SimulatorControl {
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

/** Start the simulator; it stops (closing open connections) when the scope closes. */
export const make = (options: SimulatorOptions = {}): Effect.Effect<SimulatorHandle, SimulatorStartError, Scope.Scope> =>
  Effect.gen(function* () {
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
    const control = makeControl(state)

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

    const router = HttpRouter.concatAll(loginFlowRoutes(state), ocsRoutes(state), notesRoutes(state), hookRoutes(state, control))
    const routed = Effect.catchTag(router, "RouteNotFound", () => Effect.succeed(notFound)).pipe(
      // Login tokens are 128 characters; the router's default limit for a path parameter is 100.
      HttpRouter.withRouterConfig({ maxParamLength: 1024 })
    )
    // WebDAV methods (PROPFIND, MKCOL, MOVE) are not router methods: DAV paths get their own dispatcher.
    const dav = davApp(state)
    const app = withTraffic(state)(
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => (isDavPath(pathOf(request.url)) ? dav : routed))
    )
    yield* server.serve(app)
    yield* Effect.logDebug(`simulated Nextcloud listening on ${url}`)
    return { url, ...control }
  })

export class Simulator extends Context.Tag("nextcloud-mcp/Simulator")<Simulator, SimulatorHandle>() {}

export const layer = (options?: SimulatorOptions): Layer.Layer<Simulator, SimulatorStartError> =>
  Layer.scoped(Simulator, make(options))
