/**
 * What a call to Nextcloud can fail with (docs/nextcloud-protocol.md §2, §9).
 * These are service errors: they hold an operation name, a status and a short
 * detail, never a request, its headers or a response body (those can carry
 * passwords and tokens). Tools turn them into tool-facing errors; the generic
 * wording for that is {@link describeNextcloudFailure}.
 */
import { Data, Duration, Effect } from "effect"
import { NextcloudError, NextcloudUnreachable } from "../domain/Errors.js"

/**
 * Why a connection to Nextcloud failed, read from the system error's code
 * (Node's `net`, `dns` and `tls` errors). Most are set-up mistakes that
 * waiting will not fix; the message names the setting to change.
 */
export type ConnectionProblem =
  /** ECONNREFUSED: nothing listens on that host and port. */
  | "refused"
  /** ENOTFOUND, EAI_AGAIN…: the host name does not resolve. */
  | "dns"
  /** No route to the host or network. */
  | "network"
  /** A self-signed certificate, or one from a CA this machine does not trust. */
  | "untrusted-certificate"
  /** The certificate is for another host name. */
  | "certificate-name"
  /** The certificate has expired or is not valid yet. */
  | "certificate-dates"
  /** The server does not speak TLS: `https://` against a plain http port. */
  | "not-tls"
  /** The connection was closed before an answer (e.g. `http://` against a TLS port). */
  | "closed"

const PROBLEMS: ReadonlyArray<readonly [ConnectionProblem, ReadonlyArray<string>]> = [
  ["refused", ["ECONNREFUSED"]],
  ["dns", ["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", "EAI_NONAME"]],
  ["network", ["EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN"]],
  [
    "untrusted-certificate",
    [
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      "SELF_SIGNED_CERT_IN_CHAIN",
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "UNABLE_TO_GET_ISSUER_CERT",
      "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
      "CERT_UNTRUSTED",
      "CERT_SIGNATURE_FAILURE",
      "CERT_REVOKED"
    ]
  ],
  ["certificate-name", ["ERR_TLS_CERT_ALTNAME_INVALID", "HOSTNAME_MISMATCH"]],
  ["certificate-dates", ["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]],
  ["not-tls", ["ERR_SSL_WRONG_VERSION_NUMBER", "ERR_SSL_PACKET_LENGTH_TOO_LONG", "ERR_SSL_HTTP_REQUEST"]],
  ["closed", ["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]]
]

/** The problem a low-level error `code` (and, for OpenSSL's EPROTO, its message) stands for; undefined when unknown. */
export const connectionProblemOf = (code: string | undefined, message = ""): ConnectionProblem | undefined => {
  if (code === undefined) return /socket hang up/i.test(message) ? "closed" : undefined
  if (code === "EPROTO") return /wrong version number|packet length too long|http request/i.test(message) ? "not-tls" : undefined
  return PROBLEMS.find(([, codes]) => codes.includes(code))?.[0]
}

/** Nextcloud could not be reached, or did not answer in time. */
export class NextcloudTransportError extends Data.TaggedError("NextcloudTransportError")<{
  readonly operation: string
  readonly reason: "unreachable" | "timeout"
  /** A short, secret-free description: `{ code?, message }`. */
  readonly cause: unknown
  /** Unreachable: why, when the cause says so. */
  readonly problem?: ConnectionProblem
  /** A timeout: how long the call waited (NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS). */
  readonly waited?: Duration.Duration
}> {}

/** Worth another attempt: a failure waiting may fix (not a DNS, certificate or TLS mistake). */
export const isTransient = (error: NextcloudTransportError): boolean =>
  error.problem === undefined || error.problem === "refused" || error.problem === "closed" || error.problem === "network"

/** Nextcloud answered, but not as expected (status, malformed body, missing fields). */
export class NextcloudProtocolError extends Data.TaggedError("NextcloudProtocolError")<{
  readonly operation: string
  readonly status: number
  readonly detail: string
  /** What to check, when the answer points at a set-up mistake (a sentence, shown after the message). */
  readonly hint?: string
}> {}

/**
 * 404 from Nextcloud itself, not from the app: a web page (or an empty
 * answer) where the app answers JSON or XML. The route does not exist there —
 * the app is not installed or enabled, or NEXTCLOUD_HOST is not Nextcloud's
 * own address. `app` names the app when the client said which.
 */
export class NextcloudNoSuchRoute extends Data.TaggedError("NextcloudNoSuchRoute")<{
  readonly operation: string
  readonly app?: string
}> {}

/** Nextcloud refused the credentials (401): revoked, expired or wrong. Never retried. */
export class NextcloudUnauthorized extends Data.TaggedError("NextcloudUnauthorized")<{
  readonly operation: string
}> {}

/** 404: no such note, file or folder. */
export class NextcloudNotFound extends Data.TaggedError("NextcloudNotFound")<{ readonly operation: string }> {}

/** 412: an `If-Match` / `If-None-Match` / `Overwrite: F` precondition did not hold. */
export class NextcloudPreconditionFailed extends Data.TaggedError("NextcloudPreconditionFailed")<{
  readonly operation: string
}> {}

/** 409: the parent folder does not exist (WebDAV PUT, MKCOL, MOVE), or a PUT onto a folder. */
export class NextcloudConflict extends Data.TaggedError("NextcloudConflict")<{ readonly operation: string }> {}

/** 405: not allowed on this resource (MKCOL on something that exists). */
export class NextcloudNotAllowed extends Data.TaggedError("NextcloudNotAllowed")<{ readonly operation: string }> {}

/** 403: the user may not do this (read-only share, read-only note, another user's files). */
export class NextcloudForbidden extends Data.TaggedError("NextcloudForbidden")<{ readonly operation: string }> {}

/** 507: the user's quota is used up. */
export class NextcloudInsufficientStorage extends Data.TaggedError("NextcloudInsufficientStorage")<{
  readonly operation: string
}> {}

/** 423: the resource is locked. */
export class NextcloudLocked extends Data.TaggedError("NextcloudLocked")<{ readonly operation: string }> {}

/** What Nextcloud's data routes (an app's API, WebDAV) answer when a request is refused for a reason the caller should know about. */
export type RefusalError =
  | NextcloudNotFound
  | NextcloudPreconditionFailed
  | NextcloudConflict
  | NextcloudNotAllowed
  | NextcloudForbidden
  | NextcloudInsufficientStorage
  | NextcloudLocked

/** Every error a data call can fail with. */
export type DataCallError =
  | RefusalError
  | NextcloudNoSuchRoute
  | NextcloudUnauthorized
  | NextcloudTransportError
  | NextcloudProtocolError

const DATA_CALL_TAGS: ReadonlySet<string> = new Set<DataCallError["_tag"]>([
  "NextcloudUnauthorized",
  "NextcloudTransportError",
  "NextcloudProtocolError",
  "NextcloudNoSuchRoute",
  "NextcloudNotFound",
  "NextcloudPreconditionFailed",
  "NextcloudConflict",
  "NextcloudNotAllowed",
  "NextcloudForbidden",
  "NextcloudInsufficientStorage",
  "NextcloudLocked"
])

export const isDataCallError = (error: { readonly _tag: string }): error is DataCallError => DATA_CALL_TAGS.has(error._tag)

/** A non-expected status, with a short detail and nothing from the body. */
export const unexpectedStatus = (operation: string, status: number, detail?: string): NextcloudProtocolError =>
  new NextcloudProtocolError({ operation, status, detail: detail ?? `unexpected status ${status}` })

/** The error for a non-success status of a data route (401 is handled by the caller). */
export const refusal = (operation: string, status: number): RefusalError | NextcloudProtocolError => {
  switch (status) {
    case 403:
      return new NextcloudForbidden({ operation })
    case 404:
      return new NextcloudNotFound({ operation })
    case 405:
      return new NextcloudNotAllowed({ operation })
    case 409:
      return new NextcloudConflict({ operation })
    case 412:
      return new NextcloudPreconditionFailed({ operation })
    case 423:
      return new NextcloudLocked({ operation })
    case 507:
      return new NextcloudInsufficientStorage({ operation })
    case 429:
      return unexpectedStatus(operation, 429, "throttled by Nextcloud (too many requests or failed logins)")
    case 503:
      return unexpectedStatus(operation, 503, "Nextcloud is in maintenance mode or unavailable")
    default:
      return unexpectedStatus(operation, status)
  }
}

const contentTypeOf = (answer: { readonly status: number }): string | undefined => {
  const headers = (answer as { readonly headers?: Readonly<Record<string, string | undefined>> }).headers
  return headers?.["content-type"]
}

/**
 * A 404 that Nextcloud's router answered, not the app: apps answer JSON
 * (their API) or XML (WebDAV); a route that does not exist gets an HTML page
 * (Nextcloud's 404 template, PHP's default `text/html` on an empty body, or a
 * proxy's error page).
 */
const isRouterNotFound = (answer: { readonly status: number }): boolean =>
  answer.status === 404 && /^\s*text\/html\b/i.test(contentTypeOf(answer) ?? "")

/**
 * Passes an answer with one of the `expected` statuses; 401 and every other
 * status become their error. `app` names the app whose JSON API this is: then
 * an HTML 404 (Nextcloud's router: no such route) asks whether it is installed.
 */
export const expectStatus =
  (operation: string, expected: ReadonlyArray<number>, options: { readonly app?: string } = {}) =>
  <A extends { readonly status: number }>(answer: A): Effect.Effect<A, DataCallError> => {
    if (expected.includes(answer.status)) return Effect.succeed(answer)
    if (answer.status === 401) return Effect.fail(new NextcloudUnauthorized({ operation }))
    // Only a JSON API's 404 page tells a missing route from a missing object; WebDAV servers (Apache
    // among them) answer a missing file with an HTML page too.
    if (options.app !== undefined && isRouterNotFound(answer)) {
      return Effect.fail(new NextcloudNoSuchRoute({ operation, app: options.app }))
    }
    return Effect.fail(refusal(operation, answer.status))
  }

/** "30 s", "0.5 s": how long a call waited, in the unit NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS uses. */
const seconds = (waited: Duration.Duration): string => `${Math.round(Duration.toMillis(waited)) / 1000} s`

/** NEXTCLOUD_HOST as configured, path included (a wrong base path is a common mistake), without a trailing slash. */
export const hostLabel = (host: URL): string => `${host.origin}${host.pathname.replace(/\/+$/, "")}`

const causeOf = (error: NextcloudTransportError): { readonly code?: string; readonly message?: string } =>
  typeof error.cause === "object" && error.cause !== null ? (error.cause as { code?: string; message?: string }) : {}

const TRUST_OFF = "NEXTCLOUD_VERIFY_SSL=false turns the check off (only on a network you trust)"

/** Why the connection failed and what to change, as the end of a sentence and the sentences after it. */
const unreachableBecause = (host: URL, error: NextcloudTransportError): { readonly why: string; readonly fix: string } => {
  const { code, message } = causeOf(error)
  switch (error.problem) {
    case "refused":
      return {
        why: `the connection to ${host.host} was refused (nothing listens on that port)`,
        fix: "Check the host and port in NEXTCLOUD_HOST, and that Nextcloud is running."
      }
    case "dns":
      return {
        why: `the host name ${host.hostname} could not be resolved (${code ?? "DNS"})`,
        fix: "Check the host name in NEXTCLOUD_HOST, and this machine's DNS."
      }
    case "network":
      return {
        why: `there is no network route to ${host.hostname} (${code ?? "unreachable"})`,
        fix: "Check the host name in NEXTCLOUD_HOST, and this machine's network."
      }
    case "untrusted-certificate":
      return {
        why: `its TLS certificate is not trusted (${message ?? code ?? "untrusted"})`,
        fix:
          "If Nextcloud uses a self-signed certificate or a private CA, set NODE_EXTRA_CA_CERTS to a PEM file holding that certificate and restart the server; " +
          `${TRUST_OFF}.`
      }
    case "certificate-name":
      return {
        why: `its TLS certificate is not valid for ${host.hostname}`,
        fix: `Use a host name the certificate names in NEXTCLOUD_HOST, or fix the certificate; ${TRUST_OFF}.`
      }
    case "certificate-dates":
      return {
        why: `its TLS certificate ${code === "CERT_NOT_YET_VALID" ? "is not valid yet" : "has expired"}`,
        fix: "Renew the certificate, or check this machine's clock."
      }
    case "not-tls":
      return {
        why: `the server at ${host.host} does not speak TLS (https:// against a plain http port?)`,
        fix: "If Nextcloud is served over plain http there, start NEXTCLOUD_HOST with http://; otherwise check its port."
      }
    case "closed":
      return host.protocol === "http:"
        ? {
            why: "the connection was closed without an answer (http:// against an https port?)",
            fix: "If Nextcloud is served over https there, start NEXTCLOUD_HOST with https://; otherwise try again later."
          }
        : { why: "the connection was closed without an answer", fix: "Try again later." }
    default:
      return { why: code === undefined ? "" : `the connection failed (${code})`, fix: "Try again later." }
  }
}

/**
 * What the server log says about a failure (`detail=`): the problem and the
 * low-level code and message, never a request or a body.
 */
export const logDetail = (error: NextcloudTransportError | NextcloudProtocolError | NextcloudNoSuchRoute): string => {
  switch (error._tag) {
    case "NextcloudProtocolError":
      return `HTTP ${error.status}: ${error.detail}`
    case "NextcloudNoSuchRoute":
      return `HTTP 404 from Nextcloud's router: no such route${error.app === undefined ? "" : ` (is ${error.app} installed?)`}`
    case "NextcloudTransportError": {
      const { code, message } = causeOf(error)
      const low = [code, message].filter((part) => part !== undefined && part !== "").join(" ")
      const head = error.reason === "timeout" ? "timeout" : (error.problem ?? "unreachable")
      return low === "" ? head : `${head}: ${low}`
    }
  }
}

/** The tool-facing error for a failed call to Nextcloud; `action` completes "while trying to …". */
export const describeNextcloudFailure = (
  host: URL,
  action: string,
  error: NextcloudTransportError | NextcloudProtocolError | NextcloudNoSuchRoute
): NextcloudUnreachable | NextcloudError => {
  const at = `Nextcloud at ${hostLabel(host)}`
  switch (error._tag) {
    case "NextcloudTransportError": {
      if (error.reason === "timeout") {
        const within = error.waited === undefined ? "in time" : `within ${seconds(error.waited)}`
        return new NextcloudUnreachable({ message: `${at} did not answer ${within} while trying to ${action}. Try again later.` })
      }
      const { why, fix } = unreachableBecause(host, error)
      return new NextcloudUnreachable({
        message: `${at} could not be reached while trying to ${action}${why === "" ? "" : `: ${why}`}. ${fix}`
      })
    }
    case "NextcloudNoSuchRoute":
      return new NextcloudError({
        message:
          `${at} has ${error.app === undefined ? "no such route" : `no ${error.app} API`}: it answered HTTP 404 with a web page while trying to ${action}. ` +
          (error.app === undefined
            ? "Check that NEXTCLOUD_HOST is Nextcloud's own address, with the path it is installed under."
            : `Is the ${error.app} app installed and enabled for your account? If it is, check that NEXTCLOUD_HOST is Nextcloud's own address, with the path it is installed under.`)
      })
    case "NextcloudProtocolError":
      return new NextcloudError({
        message:
          `${at} answered unexpectedly (HTTP ${error.status}: ${error.detail}) while trying to ${action}.` +
          (error.hint === undefined ? "" : ` ${error.hint}`)
      })
  }
}
