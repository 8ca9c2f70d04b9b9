/**
 * URLs Nextcloud hands back (a login flow's `login` and `poll.endpoint`, the
 * hrefs of a PROPFIND) are built from the request *it* saw: behind proxies
 * and in containers they name internal hosts, and a broken or hostile server
 * can put anything there. So only their path and query are kept, and always
 * on an origin this server was configured with. The path is never parsed
 * again as a URL reference, so nothing in it can name another host:
 *
 * - a path that starts with `//` is still a path; repeated slashes are
 *   collapsed (a webroot ending in `/` gives `http://host//index.php/…`);
 * - a backslash stays in the path as `%5C` (a URL parser would turn it into
 *   `/`), and encoded separators (`%2F`, `%5C`) stay encoded;
 * - a path without scheme or host (`/index.php/login/v2/poll`, even
 *   `//index.php/…`) is accepted as a path;
 * - anything else (another scheme, a relative reference such as `poll`) is
 *   refused: Nextcloud never sends it, and guessing its base is how hosts get
 *   confused.
 */
import { Either } from "effect"

export interface ReturnedPath {
  /** Starts with exactly one `/`; never two in a row; no backslash. */
  readonly path: string
  /** Without the `?`; "" for none. */
  readonly query: string
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/

/** What every URL parser drops anyway: tabs and newlines anywhere, controls and spaces around. */
const cleaned = (text: string): string =>
  text.replace(/[\t\n\r]/g, "").replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "")

const normalisedPath = (raw: string): string => {
  const path = raw.replace(/\\/g, "%5C").replace(/\/{2,}/g, "/")
  return path.startsWith("/") ? path : `/${path}`
}

/** The path and query of a URL (or absolute path) Nextcloud returned; its scheme, host and fragment are dropped. */
export const returnedPath = (returned: string): Either.Either<ReturnedPath, string> => {
  const text = cleaned(returned)
  const hash = text.indexOf("#")
  const withoutFragment = hash < 0 ? text : text.slice(0, hash)
  const q = withoutFragment.indexOf("?")
  const reference = q < 0 ? withoutFragment : withoutFragment.slice(0, q)
  const query = q < 0 ? "" : withoutFragment.slice(q + 1)
  const scheme = SCHEME.exec(reference)
  if (scheme !== null) {
    const name = (scheme[1] ?? "").toLowerCase()
    if (name !== "http" && name !== "https") return Either.left("not an http(s) URL")
    // Like a URL parser for http(s): any run of slashes or backslashes, then the
    // authority up to the next one. The authority is dropped, whatever it says.
    const afterScheme = reference.slice(scheme[0].length).replace(/^[/\\]+/, "")
    const pathStart = afterScheme.search(/[/\\]/)
    return Either.right({ path: pathStart < 0 ? "/" : normalisedPath(afterScheme.slice(pathStart)), query })
  }
  if (reference.startsWith("/") || reference.startsWith("\\")) return Either.right({ path: normalisedPath(reference), query })
  return Either.left("neither an http(s) URL nor an absolute path")
}

/**
 * `returned`'s path and query on `origin`'s scheme, host and port. The URL is
 * built from the origin's parts; the path is set, not resolved, so the host
 * cannot change.
 */
export const pinnedUrl = (origin: URL, returned: string): Either.Either<URL, string> =>
  Either.map(returnedPath(returned), ({ path, query }) => {
    const url = new URL(origin.origin)
    url.pathname = path
    url.search = query
    return url
  })
