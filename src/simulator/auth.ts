/**
 * Credentials on any request, as Nextcloud's front controllers process them:
 * a bad Authorization header is a failed login (recorded per IP for the
 * optional brute-force model), even on public routes.
 */
import type { HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import { authenticate, type AuthResult } from "./accounts.js"
import { clientIp, header } from "./http.js"
import { now, type SimState } from "./state.js"

export type RequestAuth = AuthResult | { readonly _tag: "Throttled" }

export const requestAuth = (
  state: SimState,
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<RequestAuth> =>
  Effect.flatMap(now(state), (at) =>
    Effect.sync((): RequestAuth => {
      const authorization = header(request, "authorization")
      const max = state.config.bruteForceMaxAttempts
      const ip = clientIp(request)
      if (authorization !== undefined && max !== null && (state.failedLogins.get(ip) ?? 0) >= max) {
        return { _tag: "Throttled" }
      }
      const result = authenticate(state, authorization, at)
      if (result._tag === "Failed") state.failedLogins.set(ip, (state.failedLogins.get(ip) ?? 0) + 1)
      else if (result._tag !== "Anonymous") state.failedLogins.delete(ip)
      return result
    })
  )
