/**
 * Who is calling `/mcp` (CONTRACT §4): the bearer token of the Authorization
 * header, checked by the token verifier, or the answer that refuses the
 * request — 401 (no token, or a token refused), 503 (the issuer cannot be
 * reached; the token may be fine), 403 (the token lacks scopes a call needs),
 * each with its RFC 6750 / RFC 9728 challenge. The verified user reaches the
 * tools through the request's authInfo, never the token itself.
 */
import { HttpServerResponse } from "@effect/platform"
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js"
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js"
import { ProtocolError, ProtocolErrorCode } from "@modelcontextprotocol/server"
import { Clock, Effect, Option, Redacted } from "effect"
import type { CurrentUserShape } from "../../auth/CurrentUser.js"
import type { TokenVerifierShape, VerifiedToken } from "../../auth/TokenVerifier.js"
import type { UserId } from "../../domain/Ids.js"
import type { Scope } from "../../domain/Scope.js"
import * as Policy from "../httpPolicy.js"
import type { Extra } from "../server.js"
import { jsonRpcError } from "./messages.js"

/** `undefined`: no Authorization header; none: a header that is not a bearer token. */
export const bearerToken = (authorization: string | undefined): Option.Option<string> | undefined => {
  if (authorization === undefined || authorization.trim() === "") return undefined
  const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(authorization)
  return match?.[1] === undefined ? Option.none() : Option.some(match[1])
}

const unauthorized = (ep: Policy.PublicEndpoints, tokenGiven: boolean, reason: string) =>
  HttpServerResponse.unsafeJson(
    tokenGiven ? { error: "invalid_token", error_description: reason } : { error: "unauthorized", error_description: reason },
    { status: 401, headers: { "www-authenticate": Policy.unauthorizedChallenge(ep, tokenGiven) } }
  )

const issuerUnavailable = (retryAfterSeconds: number) =>
  HttpServerResponse.unsafeJson(
    { error: "temporarily_unavailable", error_description: "the token issuer cannot be reached" },
    { status: 503, headers: { "retry-after": String(retryAfterSeconds) } }
  )

/** The verified token of a request's Authorization header, or the response that refuses it. */
export const makeAuthenticate =
  (verifier: TokenVerifierShape, ep: Policy.PublicEndpoints) =>
  (authorization: string | undefined): Effect.Effect<VerifiedToken, HttpServerResponse.HttpServerResponse> => {
    const token = bearerToken(authorization)
    if (token === undefined) return Effect.fail(unauthorized(ep, false, "a bearer token is required"))
    if (Option.isNone(token)) return Effect.fail(unauthorized(ep, true, "the Authorization header is not a bearer token"))
    return verifier.verify(Redacted.make(token.value)).pipe(
      Effect.catchTags({
        TokenRejected: (e) =>
          Effect.logDebug("bearer token refused", { reason: e.reason }).pipe(
            Effect.zipRight(Effect.fail(unauthorized(ep, true, e.reason)))
          ),
        // The verifier logs each failed attempt to reach the issuer; requests answered from its cooldown are not worth a line each.
        IssuerUnavailable: (e) =>
          Effect.logDebug("bearer token not checked: the issuer is unavailable", { reason: e.reason }).pipe(
            Effect.zipRight(Clock.currentTimeMillis),
            Effect.flatMap((now) => Effect.fail(issuerUnavailable(Policy.retryAfterSeconds(e.retryAt, now))))
          )
      })
    )
  }

/** 403 for the `tools/call`s of a POST whose tools need scopes the token lacks. */
export const insufficientScope = (ep: Policy.PublicEndpoints, denial: Policy.ScopeDenial) =>
  jsonRpcError(
    403,
    -32003,
    `Insufficient scope: ${denial.tools.join(", ")} needs ${denial.needed.join(", ")}; the token lacks ${denial.missing.join(", ")}`,
    denial.id,
    { "www-authenticate": Policy.insufficientScopeChallenge(ep, denial.needed) }
  )

/** `authInfo.extra` key under which the verified user id travels to {@link identify}. */
const USER_ID = "userId"

/** What the transport hands the request's handlers about its caller. */
export const authInfoOf = (verified: VerifiedToken, ep: Policy.PublicEndpoints): AuthInfo => ({
  // The tools never need the raw token; keep it out of everything they see.
  token: "[redacted]",
  clientId: verified.clientId,
  scopes: [...verified.scopes],
  resource: new URL(ep.resource),
  ...(verified.expiresAt !== undefined ? { expiresAt: verified.expiresAt } : {}),
  extra: { [USER_ID]: verified.userId }
})

/** The caller named by the authInfo {@link authInfoOf} attached to a request; undefined when there is none. */
export const userOfAuthInfo = (authInfo: AuthInfo | undefined): CurrentUserShape | undefined => {
  const userId = authInfo?.extra?.[USER_ID]
  if (authInfo === undefined || typeof userId !== "string") return undefined
  return { userId: userId as UserId, tokenScopes: authInfo.scopes as ReadonlyArray<Scope> }
}

/** The caller of an MCP request, from the authInfo {@link authInfoOf} attached to it. */
export const identify = (extra: Extra): CurrentUserShape => {
  const user = userOfAuthInfo(extra.authInfo)
  // Every /mcp request is authenticated before it reaches a transport; this is a bug.
  if (user === undefined) throw new McpError(ErrorCode.InternalError, "Internal error")
  return user
}

/** The caller of a 2026-07-28 request (its SDK's error type for the bug of a request without one). */
export const identifyFromAuthInfo = (authInfo: AuthInfo | undefined): CurrentUserShape => {
  const user = userOfAuthInfo(authInfo)
  if (user === undefined) throw new ProtocolError(ProtocolErrorCode.InternalError, "Internal error")
  return user
}
