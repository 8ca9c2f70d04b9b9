/**
 * What `nextcloud-mcp http` checks before serving, because it would only fail
 * later, on every request and with less to go on:
 *
 * - The issuer: unless NC_MCP_OIDC_JWKS_URL is set, its discovery document
 *   must name exactly NC_MCP_OIDC_ISSUER as its issuer (tokens carry that
 *   value in `iss`, compared verbatim: a trailing slash counts). A mismatch
 *   stops startup, naming both; an issuer that cannot be reached yet is only
 *   a warning (tokens are refused until it can be).
 * - A wildcard listen address (`--host 0.0.0.0` or `::`) without
 *   NC_MCP_PUBLIC_URL: the resource and the required audience would name
 *   that address, which no client uses; a warning says what they will be.
 */
import { FetchHttpClient, HttpClient } from "@effect/platform"
import { Duration, Effect, Option, Schema } from "effect"
import { getBody } from "../auth/issuerFetch.js"
import { discoveryUrl } from "../auth/TokenVerifier.js"
import type { HttpSettings } from "../Config.js"
import { defaultPublicUrl, endpoints } from "../mcp/httpPolicy.js"
import { failStartup } from "./startup.js"

const Discovery = Schema.parseJson(Schema.Struct({ issuer: Schema.String }))

const LIMITS = { timeout: Duration.seconds(5), maxBytes: 1024 * 1024 } as const

/** Fails startup when the issuer's discovery document names another issuer; warns when it cannot be read. */
export const checkIssuer = (settings: Pick<HttpSettings, "issuer" | "jwksUrl">) =>
  Option.isSome(settings.jwksUrl)
    ? Effect.void
    : Effect.gen(function* () {
        const url = discoveryUrl(settings.issuer)
        const client = yield* HttpClient.HttpClient
        const document = yield* getBody(client, url, LIMITS).pipe(
          Effect.map((bytes) => new TextDecoder().decode(bytes)),
          Effect.flatMap(Schema.decode(Discovery)),
          Effect.either
        )
        if (document._tag === "Left") {
          const why = document.left._tag === "IssuerFetchFailed" ? document.left.reason : "it is not a discovery document"
          return yield* Effect.logWarning(
            `the issuer's discovery document at ${url} could not be read (${why}); access tokens are refused until it can be`
          )
        }
        const named = document.right.issuer
        if (named !== settings.issuer) {
          return yield* failStartup(
            `NC_MCP_OIDC_ISSUER is ${settings.issuer}, but the issuer's discovery document (${url}) names ${named}. ` +
              `Tokens carry ${named} in iss, compared verbatim: set NC_MCP_OIDC_ISSUER=${named}` +
              (named.replace(/\/+$/, "") === settings.issuer.replace(/\/+$/, "") ? " (a trailing slash counts)." : ".")
          )
        }
      }).pipe(Effect.provide(FetchHttpClient.layer))

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"])

/** Warns when the server listens on every address but has no public URL: what `resource` and `aud` will be. */
export const warnIfNoPublicUrl = (
  host: string,
  port: number,
  settings: Pick<HttpSettings, "publicUrl" | "audience">
) => {
  if (!WILDCARDS.has(host) || Option.isSome(settings.publicUrl)) return Effect.void
  const resource = endpoints(defaultPublicUrl(host.replace(/^\[|\]$/g, ""), port)).resource
  const audience = Option.getOrElse(settings.audience, () => resource)
  return Effect.logWarning(
    `--host ${host} without NC_MCP_PUBLIC_URL: the resource will be ${resource} and tokens must carry aud ${audience}` +
      `${Option.isSome(settings.audience) ? " (NC_MCP_AUDIENCE)" : ""}; no client reaches this server at ${host}. ` +
      "Set NC_MCP_PUBLIC_URL to the URL clients use (for example https://mcp.example.com)."
  )
}
