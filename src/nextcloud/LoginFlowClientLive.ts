/**
 * Login Flow v2 over HTTP (docs/nextcloud-protocol.md §3, §5).
 *
 * - `initiate` keeps only the path and query of `poll.endpoint` and `login`
 *   (`pinnedUrl`): the endpoint is polled on NEXTCLOUD_HOST's origin, the
 *   login URL is shown on NEXTCLOUD_PUBLIC_URL's origin. Nextcloud builds both
 *   from the request it saw, so behind proxies or in containers they often
 *   carry an internal host or `http` instead of `https`; a hostile answer must
 *   not send the poll token or the user anywhere else.
 * - `poll` pins the endpoint it is given again, so a flow stored by an older
 *   version (or before NEXTCLOUD_HOST changed) is still polled on the host.
 * - `initiate` is safe to repeat (an unused flow costs nothing and expires
 *   after 20 minutes), so it is retried on a refused connection or a 5xx.
 * - `poll` is never retried here: a 200 is one-shot (the flow is consumed
 *   before the answer is sent), so a blind retry after a lost answer would only
 *   ever see 404. Any failure is an error, never Pending and never "expired";
 *   the caller keeps the flow and polls again later.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Either, Layer, Redacted, Schema } from "effect"
import { makeCaller } from "./call.js"
import { decodeJsonBody, underBase } from "./http.js"
import {
  type CompletedFlow,
  type InitiatedFlow,
  LoginFlowClient,
  type PollResult
} from "./LoginFlowClient.js"
import { NextcloudConfig } from "./NextcloudConfig.js"
import { pinnedUrl, returnedPath } from "./pinnedUrl.js"
import { NextcloudProtocolError, unexpectedStatus } from "./errors.js"

/** The usual cause when the login endpoint is missing: NEXTCLOUD_HOST is not Nextcloud's address (often its path). */
const NOT_NEXTCLOUD =
  "Is Nextcloud at this URL? NEXTCLOUD_HOST must be Nextcloud's own address, with the path it is installed under if any (for example https://example.org/nextcloud)."

const NonEmpty = Schema.String.pipe(Schema.minLength(1))

/** An http(s) URL or an absolute path: only its path and query will be used. */
const ReturnedUrl = Schema.String.pipe(
  Schema.filter((s) => Either.match(returnedPath(s), { onLeft: (reason) => reason, onRight: () => true }))
)

/** `POST /index.php/login/v2` → 200 body. */
export const InitResponse = Schema.Struct({
  poll: Schema.Struct({ token: NonEmpty, endpoint: ReturnedUrl }),
  login: ReturnedUrl
})

/**
 * App passwords: 72 `[A-Za-z0-9]` from the flow, getapppassword and rotate;
 * dashed 5×5 groups when created in Settings and handed over through
 * "Alternative log in using app password". Both fit this pattern.
 */
export const AppPassword = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9-]{20,256}$/))

/** `POST …/login/v2/poll` → 200 body. */
export const PollResponse = Schema.Struct({
  server: NonEmpty,
  loginName: NonEmpty,
  appPassword: AppPassword
})

export const LoginFlowClientLive: Layer.Layer<LoginFlowClient, never, HttpClient.HttpClient | NextcloudConfig> =
  Layer.effect(
    LoginFlowClient,
    Effect.gen(function*() {
      const config = yield* NextcloudConfig
      const nc = makeCaller(yield* HttpClient.HttpClient, config)

      /** Unusable URLs are refused by `InitResponse` already; a stored endpoint is checked here again. */
      const pinned = (operation: string, origin: URL, returned: string) =>
        Either.mapLeft(pinnedUrl(origin, returned), (reason) => unexpectedStatus(operation, 0, `unusable URL: ${reason}`))

      const initiate = Effect.fn("LoginFlowClient.initiate")(function*() {
        const operation = "LoginFlowClient.initiate"
        const response = yield* nc.text(operation, HttpClientRequest.post(underBase(config.host, "index.php/login/v2")), {
          idempotent: true
        })
        if (response.status === 404 || response.status === 405) {
          return yield* new NextcloudProtocolError({
            operation,
            status: response.status,
            detail: `no login flow at ${underBase(config.host, "index.php/login/v2").pathname}`,
            hint: NOT_NEXTCLOUD
          })
        }
        if (response.status !== 200) return yield* unexpectedStatus(operation, response.status)
        const body = yield* decodeJsonBody(InitResponse, operation)(response).pipe(
          Effect.mapError((error) => new NextcloudProtocolError({ operation, status: error.status, detail: error.detail, hint: NOT_NEXTCLOUD }))
        )
        const flow: InitiatedFlow = {
          loginUrl: Redacted.make((yield* pinned(operation, config.publicUrl, body.login)).href),
          pollEndpoint: (yield* pinned(operation, config.host, body.poll.endpoint)).href,
          pollToken: Redacted.make(body.poll.token)
        }
        return flow
      })

      const poll = Effect.fn("LoginFlowClient.poll")(function*(
        pollEndpoint: string,
        pollToken: Redacted.Redacted<string>
      ) {
        const operation = "LoginFlowClient.poll"
        const endpoint = yield* pinned(operation, config.host, pollEndpoint)
        // No Authorization header: Nextcloud would check it and count a failure.
        const response = yield* nc.text(
          operation,
          HttpClientRequest.post(endpoint).pipe(HttpClientRequest.bodyUrlParams({ token: Redacted.value(pollToken) })),
          { idempotent: false }
        )
        if (response.status === 404) return { _tag: "Pending" } satisfies PollResult as PollResult
        if (response.status !== 200) return yield* unexpectedStatus(operation, response.status)
        const body = yield* decodeJsonBody(PollResponse, operation)(response)
        const credentials: CompletedFlow = {
          server: body.server,
          loginName: body.loginName,
          appPassword: Redacted.make(body.appPassword)
        }
        return { _tag: "Completed", credentials } satisfies PollResult as PollResult
      })

      return LoginFlowClient.of({ initiate: initiate(), poll })
    })
  )
