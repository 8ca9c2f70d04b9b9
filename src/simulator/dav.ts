/**
 * What every simulated DAV endpoint (files, CalDAV, CardDAV) answers as
 * sabre/dav does: its XML error body, and the refusal of a request without
 * valid credentials.
 */
import { type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Either } from "effect"
import type { SimState, SimUser } from "./state.js"
import { requestAuth } from "./auth.js"
import { escapeHtml } from "./http.js"

/**
 * sabre/dav's error body: `Sabre\DAV\Exception\<exception>` and the message;
 * `namespaces` declares the prefixes a `condition` element (e.g.
 * `<cal:no-uid-conflict/>`) uses.
 */
export const sabreError = (
  status: number,
  exception: string,
  text: string,
  options: { readonly namespaces?: string; readonly condition?: string } = {}
) =>
  HttpServerResponse.text(
    `<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"${options.namespaces === undefined ? "" : ` ${options.namespaces}`}>${options.condition ?? ""}\n` +
      `  <s:exception>Sabre\\DAV\\Exception\\${exception}</s:exception>\n  <s:message>${escapeHtml(text)}</s:message>\n</d:error>\n`,
    { status, contentType: "application/xml; charset=utf-8" }
  )

/** The user a DAV request authenticates as, or sabre's answer: 429 when throttled, 401 with a Basic challenge otherwise. */
export const davUser = (
  state: SimState,
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<Either.Either<SimUser, HttpServerResponse.HttpServerResponse>> =>
  Effect.map(requestAuth(state, request), (auth) => {
    if (auth._tag === "Throttled") return Either.left(sabreError(429, "TooManyRequests", "Reached maximum delay"))
    if (auth._tag === "Failed" || auth._tag === "Anonymous") {
      return Either.left(
        HttpServerResponse.setHeader(
          sabreError(
            401,
            "NotAuthenticated",
            "No public access to this resource., No 'Authorization: Basic' header found. Either the client didn't send one, or the server is misconfigured"
          ),
          "WWW-Authenticate",
          'Basic realm="Nextcloud", charset="UTF-8"'
        )
      )
    }
    return Either.right(auth.user)
  })
