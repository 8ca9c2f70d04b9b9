/**
 * Error mapping and body decoding shared by the Nextcloud clients (login
 * flow, OCS, Notes, WebDAV); how a call is made is in `call.ts`.
 *
 * Secrets (app passwords, poll tokens, login URLs) travel in request headers,
 * bodies or `Redacted` values only. Nothing here copies a request, a response
 * body or a raw `HttpClientError` into an error value: those carry headers
 * and bodies. Errors hold an operation name, a status and a short detail.
 */
import type { HttpClientError, Headers } from "@effect/platform"
import { Data, Effect, Either, ParseResult, Schema } from "effect"
import { connectionProblemOf, NextcloudProtocolError, NextcloudTransportError } from "./errors.js"

/**
 * A body was larger than allowed (NC_MCP_MAX_RESPONSE_BYTES, or a tighter cap
 * the caller set); `size` when its Content-Length announced it.
 */
export class NextcloudBodyTooLarge extends Data.TaggedError("NextcloudBodyTooLarge")<{
  readonly operation: string
  readonly size: number | null
  readonly limit: number
}> {}

const formatBytes = (bytes: number): string =>
  bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`

/** An answer over NC_MCP_MAX_RESPONSE_BYTES: Nextcloud misbehaved, so the call fails as a protocol error. */
export const answerTooLarge = (operation: string, status: number, limit: number): NextcloudProtocolError =>
  new NextcloudProtocolError({
    operation,
    status,
    detail: `the answer is larger than NC_MCP_MAX_RESPONSE_BYTES (${formatBytes(limit)})`
  })

/** What a failed exchange is turned into: never the raw error (it holds the request). */
export type ExchangeError = NextcloudTransportError | NextcloudProtocolError

/** A short, secret-free description of a low-level cause (Node system errors). */
export const describeCause = (cause: unknown): { readonly code?: string; readonly message: string } => {
  if (cause instanceof Error) {
    const code = (cause as { readonly code?: unknown }).code
    const message = cause.message.slice(0, 200)
    return typeof code === "string" ? { code, message } : { message }
  }
  return { message: "unknown transport failure" }
}

const isTimeoutCause = (cause: unknown): boolean =>
  cause instanceof Error && ((cause as { readonly code?: unknown }).code === "ETIMEDOUT" || cause.name === "TimeoutError")

/** Unreachable, with the problem its cause names (refused, DNS, certificate, not TLS, …). */
const unreachable = (operation: string, cause: unknown): NextcloudTransportError => {
  const described = describeCause(cause)
  const problem = connectionProblemOf(described.code, described.message)
  return new NextcloudTransportError(
    problem === undefined ? { operation, reason: "unreachable", cause: described } : { operation, reason: "unreachable", cause: described, problem }
  )
}

/** Maps an `HttpClientError` onto the Nextcloud error types, dropping request and response. */
export const fromHttpClientError = (operation: string, error: HttpClientError.HttpClientError): ExchangeError => {
  if (error._tag === "RequestError") {
    switch (error.reason) {
      case "Transport":
        return isTimeoutCause(error.cause)
          ? new NextcloudTransportError({ operation, reason: "timeout", cause: describeCause(error.cause) })
          : unreachable(operation, error.cause)
      case "InvalidUrl":
        return new NextcloudProtocolError({ operation, status: 0, detail: "invalid request URL" })
      case "Encode":
        return new NextcloudProtocolError({ operation, status: 0, detail: "could not encode the request body" })
    }
  }
  switch (error.reason) {
    case "Decode":
      // The connection broke while the body was being read.
      return unreachable(operation, error.cause)
    case "EmptyBody":
      return new NextcloudProtocolError({ operation, status: error.response.status, detail: "empty body" })
    case "StatusCode":
      return new NextcloudProtocolError({
        operation,
        status: error.response.status,
        detail: `unexpected status ${error.response.status}`
      })
  }
}

/** A fully read answer from Nextcloud. */
export interface NextcloudResponse {
  readonly status: number
  readonly headers: Headers.Headers
  readonly body: string
}

const JsonBody = Schema.parseJson()

/**
 * Decodes a JSON body with `schema`. The failure detail names the offending
 * fields only, never their values (a body may hold a password or a token).
 */
export const decodeJsonBody =
  <A, I>(schema: Schema.Schema<A, I>, operation: string) =>
  (response: NextcloudResponse): Effect.Effect<A, NextcloudProtocolError> => {
    const json = Schema.decodeUnknownEither(JsonBody)(response.body)
    if (Either.isLeft(json)) {
      return Effect.fail(
        new NextcloudProtocolError({ operation, status: response.status, detail: "body is not valid JSON" })
      )
    }
    return Schema.decodeUnknown(schema)(json.right, { errors: "all", onExcessProperty: "ignore" }).pipe(
      Effect.mapError((error) => {
        const paths = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
          issue.path.length === 0 ? "(root)" : issue.path.map(String).join(".")
        )
        const unique = [...new Set(paths)].slice(0, 5)
        return new NextcloudProtocolError({
          operation,
          status: response.status,
          detail: `unexpected body: invalid or missing ${unique.join(", ")}`
        })
      })
    )
  }

/** A URL below the configured base (`host` may carry a path prefix such as `/nextcloud`). */
export const underBase = (base: URL, path: string): URL => {
  const url = new URL(base.href)
  const prefix = url.pathname.replace(/\/+$/, "")
  url.pathname = `${prefix}/${path.replace(/^\/+/, "")}`
  url.search = ""
  url.hash = ""
  return url
}
