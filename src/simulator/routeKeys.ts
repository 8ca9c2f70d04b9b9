/**
 * Names for the routes the simulator serves, used by the request counters
 * and to target fault injection. The core names its own routes here; each
 * mounted app names its routes (`SimulatorApp.routeKeys` / `routeKey`).
 * Paths with and without `/index.php` map to the same key.
 */

/** The core's route keys: login flow, OCS, the hooks, and whatever no one claims. */
export const CORE_ROUTE_KEYS = [
  "init",
  "poll",
  "browser",
  "ocs.user",
  "ocs.capabilities",
  "ocs.apppassword.delete",
  "ocs.apppassword.rotate",
  "ocs.getapppassword",
  "ocs.navigation",
  "ocs.other",
  "hooks",
  "other"
] as const

export type CoreRouteKey = (typeof CORE_ROUTE_KEYS)[number]

/**
 * The key of a request for a route: `method` as sent, `path` without query,
 * without `/index.php` and without a trailing slash. `undefined`: not one of
 * the caller's routes.
 */
export type RouteKeyOf = (method: string, path: string) => string | undefined

/** The path part of a request URL, without query string. */
export const pathOf = (url: string): string => {
  const q = url.search(/[?#]/)
  return q < 0 ? url : url.slice(0, q)
}

/** `/index.php/login/v2` → `/login/v2` (the front controller is optional). */
export const withoutFrontController = (path: string): string =>
  path === "/index.php" ? "/" : path.startsWith("/index.php/") ? path.slice("/index.php".length) : path

const coreRouteKey: RouteKeyOf = (method, path) => {
  if (path === "/__sim" || path.startsWith("/__sim/")) return "hooks"
  if (path === "/login/v2") return method === "POST" ? "init" : "other"
  if (path === "/login/v2/poll") return method === "POST" ? "poll" : "other"
  if (path.startsWith("/login/v2/")) return "browser"
  if (path.startsWith("/ocs/")) {
    const ocsPath = path.replace(/^\/ocs\/v[12]\.php/, "")
    if (ocsPath === "/cloud/user" && method === "GET") return "ocs.user"
    if (ocsPath === "/cloud/capabilities" && method === "GET") return "ocs.capabilities"
    if (ocsPath === "/core/apppassword" && method === "DELETE") return "ocs.apppassword.delete"
    if (ocsPath === "/core/apppassword/rotate" && method === "POST") return "ocs.apppassword.rotate"
    if (ocsPath === "/core/getapppassword" && method === "GET") return "ocs.getapppassword"
    if (ocsPath === "/core/navigation/apps" && method === "GET") return "ocs.navigation"
    return "ocs.other"
  }
  return undefined
}

/** Names any request: `path` may carry a query string and `/index.php`. */
export type RouteClassifier = (method: string, path: string) => string

/**
 * The key of any request: the core's routes first, then the apps' in order,
 * else "other". An OCS route the core does not serve itself ("ocs.other") is
 * offered to the apps first: apps serve OCS APIs of their own
 * (`/ocs/v2.php/apps/<app>/…`).
 */
export const routeKeys =
  (apps: ReadonlyArray<RouteKeyOf>): RouteClassifier =>
  (method, rawPath) => {
    const path = withoutFrontController(pathOf(rawPath)).replace(/\/+$/, "") || "/"
    const core = coreRouteKey(method, path)
    if (core !== undefined && core !== "ocs.other") return core
    for (const keyOf of apps) {
      const key = keyOf(method, path)
      if (key !== undefined) return key
    }
    return core ?? "other"
  }
