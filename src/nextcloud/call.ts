/**
 * How every call to Nextcloud is made, with the limits that keep a slow,
 * broken or hostile Nextcloud from hurting the server (docs/tool-contract.md §8):
 *
 * - Time, one rule: a call — every attempt, its headers and its whole body —
 *   ends within NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS (`requestTimeout`). The
 *   `HttpClient` has no timeout of its own. A call that runs out of time
 *   fails with a timeout error that says how long it waited, and the request
 *   that was in flight is aborted, never repeated.
 * - Retries: only requests that are safe to repeat, only after a failure that
 *   says nothing was done (a refused or broken connection, a 5xx; not a DNS,
 *   certificate or TLS mistake, which waiting does not fix) and came
 *   back fast — while at least half the budget is left, so a retry always has
 *   time to finish — and a short back-off apart. When no retry is left, the
 *   last 5xx is the answer.
 * - Size: a body is read as a stream and counted; past NC_MCP_MAX_RESPONSE_BYTES
 *   (or a tighter cap of the caller) reading stops and the connection is
 *   closed. A Content-Length announcing more is refused before reading.
 */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Clock, Data, Duration, Effect, Schedule, Stream } from "effect"
import {
  answerTooLarge,
  type ExchangeError,
  fromHttpClientError,
  NextcloudBodyTooLarge,
  type NextcloudResponse
} from "./http.js"
import type { NextcloudConfigShape } from "./NextcloudConfig.js"
import type { Credentials } from "./Ocs.js"
import { isTransient, NextcloudTransportError } from "./errors.js"

export interface CallOptions {
  /** Safe to repeat (reads, starting a login flow): retried on a refused connection or a 5xx. */
  readonly idempotent: boolean
}

/** Up to two more attempts, 100 ms then 200 ms apart: enough for a restarting proxy, cheap for everyone. */
const retrySchedule = Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(2)))

/** A 5xx answer, carried through `Effect.retry` as a failure and handed back if the retries run out. */
class ServerSideFailure extends Data.TaggedError("ServerSideFailure")<{ readonly answer: { readonly status: number } }> {}

const isRetryable = (error: unknown): boolean =>
  error instanceof ServerSideFailure ||
  (error instanceof NextcloudTransportError && error.reason === "unreachable" && isTransient(error))

const announcedLength = (response: HttpClientResponse.HttpClientResponse): number | null => {
  const value = response.headers["content-length"]
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : null
}

/**
 * The whole body, at most `limit` bytes: refused at once when Content-Length
 * announces more, else counted chunk by chunk and abandoned (the connection
 * closes) as soon as it passes the limit. Memory stays within `limit`.
 */
export const readBody = (
  operation: string,
  response: HttpClientResponse.HttpClientResponse,
  limit: number
): Effect.Effect<Uint8Array, NextcloudBodyTooLarge | ExchangeError> =>
  Effect.suspend(() => {
    const announced = announcedLength(response)
    if (announced !== null && announced > limit) {
      return Effect.fail(new NextcloudBodyTooLarge({ operation, size: announced, limit }))
    }
    const chunks: Array<Uint8Array> = []
    return response.stream.pipe(
      Stream.mapError((error) => fromHttpClientError(operation, error)),
      Stream.runFoldEffect(0, (total, chunk): Effect.Effect<number, NextcloudBodyTooLarge> => {
        const next = total + chunk.byteLength
        if (next > limit) return Effect.fail(new NextcloudBodyTooLarge({ operation, size: null, limit }))
        chunks.push(chunk)
        return Effect.succeed(next)
      }),
      Effect.map((total) => Buffer.concat(chunks, total))
    )
  })

const timedOut = (operation: string, waited: Duration.Duration) =>
  new NextcloudTransportError({
    operation,
    reason: "timeout",
    waited,
    cause: { code: "TIMEOUT", message: `no complete answer within ${Duration.format(waited)}` }
  })

/** The calls of one Nextcloud client, over the shared `HttpClient` and configuration. */
export const makeCaller = (client: HttpClient.HttpClient, config: NextcloudConfigShape) => {
  // Each attempt runs in its own scope; closing it aborts whatever is still in flight.
  const scoped = HttpClient.withScope(client)

  const budget = Duration.toMillis(config.requestTimeout)

  const retried = <A extends { readonly status: number }, E>(attempt: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.flatMap(Clock.currentTimeMillis, (started) =>
      attempt.pipe(
        Effect.filterOrFail(
          (answer) => answer.status < 500,
          (answer) => new ServerSideFailure({ answer })
        ),
        Effect.retry({
          schedule: retrySchedule,
          while: (error) =>
            isRetryable(error) ? Effect.map(Clock.currentTimeMillis, (now) => now - started < budget / 2) : Effect.succeed(false)
        }),
        Effect.catchIf(
          (error): error is ServerSideFailure => error instanceof ServerSideFailure,
          (failure) => Effect.succeed(failure.answer as A)
        )
      )
    )

  /**
   * Sends `request` and hands the response to `read`, which reads what it
   * needs of the body (with `readBody`) and returns an answer with its status.
   */
  const call = <A extends { readonly status: number }, E>(
    operation: string,
    request: HttpClientRequest.HttpClientRequest,
    options: CallOptions,
    read: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | ExchangeError> => {
    const attempt = scoped.execute(request).pipe(
      Effect.mapError((error) => fromHttpClientError(operation, error)),
      Effect.flatMap(read),
      Effect.scoped
    )
    return (options.idempotent ? retried(attempt) : attempt).pipe(
      Effect.timeoutFail({ duration: config.requestTimeout, onTimeout: () => timedOut(operation, config.requestTimeout) })
    )
  }

  /** A call whose body is read whole as text, up to NC_MCP_MAX_RESPONSE_BYTES. */
  const text = (
    operation: string,
    request: HttpClientRequest.HttpClientRequest,
    options: CallOptions
  ): Effect.Effect<NextcloudResponse, ExchangeError> =>
    call(operation, request, options, (response) =>
      readBody(operation, response, config.maxResponseBytes).pipe(
        Effect.catchTag("NextcloudBodyTooLarge", () =>
          Effect.fail(answerTooLarge(operation, response.status, config.maxResponseBytes))
        ),
        Effect.map((bytes): NextcloudResponse => ({
          status: response.status,
          headers: response.headers,
          body: new TextDecoder().decode(bytes)
        }))
      )
    )

  /**
   * A call to an app's JSON API for a user: authenticated with their app
   * password, asking for JSON, with `OCS-APIRequest` on OCS routes (`ocs`).
   * Reads are retried unless `idempotent` says otherwise.
   */
  const json = (
    operation: string,
    request: HttpClientRequest.HttpClientRequest,
    credentials: Credentials,
    options: { readonly ocs?: boolean; readonly idempotent?: boolean } = {}
  ): Effect.Effect<NextcloudResponse, ExchangeError> => {
    const authenticated = request.pipe(
      HttpClientRequest.basicAuth(credentials.loginName, credentials.appPassword),
      HttpClientRequest.setHeader("accept", "application/json")
    )
    return text(operation, options.ocs === true ? HttpClientRequest.setHeader(authenticated, "OCS-APIRequest", "true") : authenticated, {
      idempotent: options.idempotent ?? request.method === "GET"
    })
  }

  return { call, text, json } as const
}

export type Caller = ReturnType<typeof makeCaller>
