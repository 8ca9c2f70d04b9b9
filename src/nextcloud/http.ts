/**
 * Shared request and error-mapping helpers for the Nextcloud clients (login
 * flow, OCS, and later Notes and WebDAV).
 *
 * Secrets (app passwords, poll tokens, login URLs) travel in request headers,
 * bodies or `Redacted` values only. Nothing here copies a request, a response
 * body or a raw `HttpClientError` into an error value: those carry headers
 * and bodies. Errors hold an operation name, a status and a short detail.
 */
import { HttpClient, HttpClientError, type HttpClientRequest, type Headers } from "@effect/platform"
import { Data, Duration, Effect, Either, ParseResult, Schedule, Schema } from "effect"
import { NextcloudProtocolError, NextcloudTransportError } from "./LoginFlowClient.js"

/**
 * Marker put into a `RequestError`'s `cause` when the per-request timeout of
 * the Nextcloud `HttpClient` fires (see `withRequestTimeout`).
 */
export class RequestTimedOut extends Data.TaggedError("NextcloudRequestTimedOut")<{
  readonly after: string
}> {}

/**
 * Per-request timeout on an `HttpClient`, up to the response headers. A
 * timeout fails with a transport `RequestError` whose cause is
 * `RequestTimedOut`; the interrupted request is aborted.
 */
export const withRequestTimeout =
  (timeout: Duration.DurationInput) =>
  <E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E | HttpClientError.RequestError, R> =>
    HttpClient.transform(client, (response, request) =>
      Effect.timeoutFail(response, {
        duration: timeout,
        onTimeout: () =>
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            description: `no answer within ${Duration.format(timeout)}`,
            cause: new RequestTimedOut({ after: Duration.format(timeout) })
          })
      })
    )

/** What a failed exchange is turned into: never the raw error (it holds the request). */
export type ExchangeError = NextcloudTransportError | NextcloudProtocolError

/** A short, secret-free description of a low-level cause (Node system errors). */
export const describeCause = (cause: unknown): { readonly code?: string; readonly message: string } => {
  if (cause instanceof RequestTimedOut) return { code: "TIMEOUT", message: `no answer within ${cause.after}` }
  if (cause instanceof Error) {
    const code = (cause as { readonly code?: unknown }).code
    const message = cause.message.slice(0, 200)
    return typeof code === "string" ? { code, message } : { message }
  }
  return { message: "unknown transport failure" }
}

const isTimeoutCause = (cause: unknown): boolean =>
  cause instanceof RequestTimedOut ||
  (cause instanceof Error &&
    ((cause as { readonly code?: unknown }).code === "ETIMEDOUT" || cause.name === "TimeoutError"))

/** Maps an `HttpClientError` onto the Nextcloud error types, dropping request and response. */
export const fromHttpClientError = (operation: string, error: HttpClientError.HttpClientError): ExchangeError => {
  if (error._tag === "RequestError") {
    switch (error.reason) {
      case "Transport":
        return new NextcloudTransportError({
          operation,
          reason: isTimeoutCause(error.cause) ? "timeout" : "unreachable",
          cause: describeCause(error.cause)
        })
      case "InvalidUrl":
        return new NextcloudProtocolError({ operation, status: 0, detail: "invalid request URL" })
      case "Encode":
        return new NextcloudProtocolError({ operation, status: 0, detail: "could not encode the request body" })
    }
  }
  switch (error.reason) {
    case "Decode":
      // The connection broke while the body was being read.
      return new NextcloudTransportError({ operation, reason: "unreachable", cause: describeCause(error.cause) })
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

/**
 * Sends one request and reads the whole body as text, all within `timeout`
 * (the client's own timeout covers the headers; this one also covers a body
 * that trickles or stalls). Every failure is a Nextcloud error.
 */
export const exchange = (
  client: HttpClient.HttpClient,
  operation: string,
  timeout: Duration.DurationInput
) =>
(request: HttpClientRequest.HttpClientRequest): Effect.Effect<NextcloudResponse, ExchangeError> =>
  client.execute(request).pipe(
    Effect.flatMap((response) =>
      Effect.map(response.text, (body): NextcloudResponse => ({
        status: response.status,
        headers: response.headers,
        body
      }))
    ),
    Effect.mapError((error) => fromHttpClientError(operation, error)),
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () =>
        new NextcloudTransportError({
          operation,
          reason: "timeout",
          cause: { code: "TIMEOUT", message: `no complete answer within ${Duration.format(timeout)}` }
        })
    })
  )

/** A non-expected status, with a short detail and nothing from the body. */
export const unexpectedStatus = (operation: string, status: number, detail?: string): NextcloudProtocolError =>
  new NextcloudProtocolError({ operation, status, detail: detail ?? `unexpected status ${status}` })

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

/** The same path, query and fragment as `url`, on `origin`'s scheme, host and port. */
export const onOrigin = (url: URL, origin: URL): URL => new URL(`${url.pathname}${url.search}${url.hash}`, origin.origin)

/** Worth retrying for an operation that is safe to repeat: transport failures and 5xx. */
export const isTransient = (error: { readonly _tag: string; readonly status?: number }): boolean =>
  error._tag === "NextcloudTransportError" ||
  (error._tag === "NextcloudProtocolError" && error.status !== undefined && error.status >= 500)

/** Short back-off for safe retries: up to two more attempts, 100 ms then 200 ms apart. */
export const retrySchedule = Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(2)))
