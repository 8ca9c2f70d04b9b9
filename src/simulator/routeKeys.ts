/**
 * Names for the routes the simulator serves, used by the request counters
 * and to target fault injection. Paths with and without `/index.php` map to
 * the same key.
 */
export const ROUTE_KEYS = [
  "init",
  "poll",
  "browser",
  "ocs.user",
  "ocs.apppassword.delete",
  "ocs.apppassword.rotate",
  "ocs.getapppassword",
  "ocs.other",
  "notes.list",
  "notes.get",
  "notes.create",
  "notes.update",
  "notes.delete",
  "notes.other",
  "dav.propfind",
  "dav.get",
  "dav.put",
  "dav.mkcol",
  "dav.move",
  "dav.delete",
  "dav.other",
  "hooks",
  "other"
] as const

export type RouteKey = (typeof ROUTE_KEYS)[number]

/** The path part of a request URL, without query string. */
export const pathOf = (url: string): string => {
  const q = url.search(/[?#]/)
  return q < 0 ? url : url.slice(0, q)
}

/** `/index.php/login/v2` → `/login/v2` (the front controller is optional). */
export const withoutFrontController = (path: string): string =>
  path === "/index.php" ? "/" : path.startsWith("/index.php/") ? path.slice("/index.php".length) : path

export const routeKey = (method: string, rawPath: string): RouteKey => {
  const path = withoutFrontController(rawPath).replace(/\/+$/, "") || "/"
  if (path === "/__sim" || path.startsWith("/__sim/")) return "hooks"
  if (path === "/login/v2") return method === "POST" ? "init" : "other"
  if (path === "/login/v2/poll") return method === "POST" ? "poll" : "other"
  if (path.startsWith("/login/v2/")) return "browser"
  if (path.startsWith("/ocs/")) {
    const ocsPath = path.replace(/^\/ocs\/v[12]\.php/, "")
    if (ocsPath === "/cloud/user" && method === "GET") return "ocs.user"
    if (ocsPath === "/core/apppassword" && method === "DELETE") return "ocs.apppassword.delete"
    if (ocsPath === "/core/apppassword/rotate" && method === "POST") return "ocs.apppassword.rotate"
    if (ocsPath === "/core/getapppassword" && method === "GET") return "ocs.getapppassword"
    return "ocs.other"
  }
  if (path === "/apps/notes/api/v1/notes") {
    return method === "GET" ? "notes.list" : method === "POST" ? "notes.create" : "notes.other"
  }
  if (path.startsWith("/apps/notes/api/v1/notes/")) {
    return method === "GET" ? "notes.get" : method === "PUT" ? "notes.update" : method === "DELETE" ? "notes.delete" : "notes.other"
  }
  if (path.startsWith("/remote.php/dav/files/")) {
    switch (method) {
      case "PROPFIND":
        return "dav.propfind"
      case "GET":
      case "HEAD":
        return "dav.get"
      case "PUT":
        return "dav.put"
      case "MKCOL":
        return "dav.mkcol"
      case "MOVE":
        return "dav.move"
      case "DELETE":
        return "dav.delete"
      default:
        return "dav.other"
    }
  }
  return "other"
}
