/**
 * GETs to the identity provider (OpenID discovery, the JWKS), each bounded in
 * time and size (docs/tool-contract.md §8).
 *
 * Time: the request runs in an interruptible region of its own, so its
 * timeout aborts it even when the caller is uninterruptible (the platform runs
 * HTTP handlers uninterruptibly; a plain `Effect.timeout` there would wait for
 * the request to finish by itself). Size: the body is counted as it arrives
 * and the connection dropped past the cap.
 */
import type { HttpClient } from "@effect/platform"
import { Cause, Data, Duration, Effect, Exit, Runtime } from "effect"
import type { FetchImplementation } from "jose"
import { collectAtMost } from "../domain/boundedBody.js"

/** One GET to the issuer failed; `reason` is safe to log (no body, no headers). */
export class IssuerFetchFailed extends Data.TaggedError("IssuerFetchFailed")<{
  readonly url: string
  readonly reason: string
}> {}

export interface IssuerFetchLimits {
  readonly timeout: Duration.Duration
  readonly maxBytes: number
}

const transportFailure = (cause: unknown): string => {
  const code = (cause as { readonly cause?: { readonly code?: unknown } } | undefined)?.cause?.code
  return typeof code === "string" ? `could not be reached (${code})` : "could not be reached"
}

/** The body of a 200 answer to a GET of `url`, within the limits. */
export const getBody = (
  client: HttpClient.HttpClient,
  url: string,
  limits: IssuerFetchLimits
): Effect.Effect<Uint8Array, IssuerFetchFailed> =>
  client.get(url, { headers: { accept: "application/json, application/jwk-set+json" } }).pipe(
    Effect.mapError((error) => new IssuerFetchFailed({ url, reason: transportFailure(error.cause) })),
    Effect.flatMap((response) =>
      response.status === 200
        ? collectAtMost(limits.maxBytes, () => new IssuerFetchFailed({ url, reason: `the answer exceeds ${limits.maxBytes} bytes` }))(
            response.stream
          ).pipe(Effect.catchTag("ResponseError", () => Effect.fail(new IssuerFetchFailed({ url, reason: "the answer broke off" }))))
        : Effect.fail(new IssuerFetchFailed({ url, reason: `answered HTTP ${response.status}` }))
    ),
    Effect.interruptible,
    Effect.timeoutFail({
      duration: limits.timeout,
      onTimeout: () => new IssuerFetchFailed({ url, reason: `no answer within ${Duration.format(limits.timeout)}` })
    })
  )

/**
 * jose's fetch for a remote key set, through `getBody`: jose's abort signal
 * (its own timeout) interrupts the request; a failure is rejected with the
 * `IssuerFetchFailed` itself, or the signal's reason when jose gave up first.
 */
export const joseFetch =
  (client: HttpClient.HttpClient, limits: IssuerFetchLimits): FetchImplementation =>
  (url, options) =>
    Runtime.runPromiseExit(Runtime.defaultRuntime)(getBody(client, url, limits), { signal: options.signal }).then((exit) =>
      Exit.isSuccess(exit)
        ? new Response(exit.value, { status: 200, headers: { "content-type": "application/json" } })
        : Promise.reject(options.signal.aborted ? options.signal.reason : Cause.squash(exit.cause))
    )
