/**
 * The routes of http mode (CONTRACT §1 `http`, §4):
 *
 *   GET|HEAD /healthz                                      public, whatever the Host
 *   GET|POST|DELETE /mcp                                   bearer token; Origin checked (`mcpRoute.ts`)
 *   GET|HEAD|OPTIONS /.well-known/oauth-protected-resource[/mcp]   RFC 9728 metadata, public
 *   anything else                                          405 on a known path, else 404
 *
 * Every route but the health probe answers only requests whose Host names
 * this server (DNS rebinding). `/mcp` is served at the Node level, before
 * this router (`serve.ts`); the router answers the rest.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import * as Policy from "../httpPolicy.js"
import { UNKNOWN_HOST } from "./messages.js"

export interface RoutesOptions {
  readonly endpoints: Policy.PublicEndpoints
  readonly issuer: string
  /** The `host[:port]` values this server answers to. */
  readonly hosts: ReadonlySet<string>
}

const METADATA_PATHS = ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] as const

/** The methods of the metadata paths, for the 405 of any other. */
const ALLOWED = new Map<string, string>(METADATA_PATHS.map((path) => [path, "GET, HEAD, OPTIONS"] as const))

const pathOf = (req: HttpServerRequest.HttpServerRequest) => new URL(req.url, "http://x").pathname

type Handler<E, R> = Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>

/** Requests whose Host does not name this server are refused (DNS rebinding). */
const hostCheck =
  (hosts: ReadonlySet<string>) =>
  <E, R>(app: Handler<E, R>): Handler<E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) =>
      Policy.hostAllowed(hosts, req.headers["host"]) ? app : Effect.succeed(UNKNOWN_HOST)
    )

export const makeRoutes = (options: RoutesOptions) => {
  const ep = options.endpoints

  const healthy = Effect.succeed(HttpServerResponse.unsafeJson({ status: "ok" }))

  const metadata = Effect.succeed(
    HttpServerResponse.unsafeJson(Policy.resourceMetadata(ep, options.issuer), {
      headers: { "access-control-allow-origin": "*", "cache-control": "public, max-age=3600" }
    })
  )
  const preflight = Effect.succeed(
    HttpServerResponse.empty({
      status: 204,
      headers: { "access-control-allow-origin": "*", "access-control-allow-methods": "GET, HEAD, OPTIONS" }
    })
  )

  const otherwise = Effect.map(HttpServerRequest.HttpServerRequest, (req) => {
    const allow = ALLOWED.get(pathOf(req))
    if (allow === undefined) return HttpServerResponse.unsafeJson({ error: "not_found" }, { status: 404 })
    return HttpServerResponse.empty({ status: 405, headers: { allow } })
  })

  const withMetadata = (router: HttpRouter.HttpRouter) =>
    METADATA_PATHS.reduce(
      (r, path) => r.pipe(HttpRouter.get(path, metadata), HttpRouter.head(path, metadata), HttpRouter.options(path, preflight)),
      router
    )

  const guarded = HttpRouter.empty.pipe(withMetadata, HttpRouter.all("*", otherwise), HttpRouter.use(hostCheck(options.hosts)))

  const open = HttpRouter.empty.pipe(HttpRouter.get("/healthz", healthy), HttpRouter.head("/healthz", healthy))

  return HttpRouter.concat(open, guarded)
}
