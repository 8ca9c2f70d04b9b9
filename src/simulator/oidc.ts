/**
 * The simulator as an OpenID issuer, so http mode can be tried locally
 * without an identity provider: OpenID discovery at
 * `/.well-known/openid-configuration` (issuer = the simulator's URL, no
 * trailing slash), its signing key at `/oidc/jwks`, and a hook that mints
 * access tokens for its users (`POST /__sim/oidc/token`). There is no
 * authorization endpoint: tokens come from the hook only, and a client sends
 * them as a fixed `Authorization: Bearer …` header.
 *
 * Tokens are JWTs signed with ES256 (a key made at start): `iss` the
 * simulator's URL, `sub` a simulator user's uid (the MCP user), `aud` the MCP
 * resource (`<NC_MCP_PUBLIC_URL>/mcp`, default `http://127.0.0.1:8000/mcp`),
 * `scope` space-separated, `exp` one hour unless asked otherwise.
 */
import { HttpRouter } from "@effect/platform"
import { Effect, Schema } from "effect"
import { exportJWK, generateKeyPair, SignJWT } from "jose"
import { jsonResponse } from "./http.js"
import { knownUser, SimulatorHookError, type SimState } from "./state.js"

export const DISCOVERY_PATH = "/.well-known/openid-configuration"
export const JWKS_PATH = "/oidc/jwks"

/** `nextcloud-mcp http`'s resource with its defaults (127.0.0.1, port 8000), the audience it requires. */
export const DEFAULT_TOKEN_AUDIENCE = "http://127.0.0.1:8000/mcp"

const ALG = "ES256"
const KID = "sim-1"
const DEFAULT_LIFETIME_SECONDS = 3600

export const MintTokenInput = Schema.Struct({
  /** The MCP user: a simulator user's uid. Default: the first user. */
  sub: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** Space-separated, or a list. Default: none (the token carries no scope claim). */
  scope: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  /** Default {@link DEFAULT_TOKEN_AUDIENCE}. */
  audience: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** Default 3600. */
  expiresInSeconds: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 86_400)))
})
export type MintTokenInput = Schema.Schema.Type<typeof MintTokenInput>

export interface MintedToken {
  readonly access_token: string
  readonly token_type: "Bearer"
  readonly expires_in: number
  readonly issuer: string
  readonly audience: string
  readonly sub: string
  readonly scope: string | null
}

export interface OidcIssuer {
  readonly routes: HttpRouter.HttpRouter
  readonly mintToken: (input: MintTokenInput) => Effect.Effect<MintedToken, SimulatorHookError>
}

/** The issuer of a simulator: its key is made now; its URL is the simulator's, read when answering. */
export const makeOidcIssuer = (state: SimState): Effect.Effect<OidcIssuer> =>
  Effect.gen(function* () {
    const pair = yield* Effect.promise(() => generateKeyPair(ALG, { extractable: true }))
    const jwk = { ...(yield* Effect.promise(() => exportJWK(pair.publicKey))), kid: KID, alg: ALG, use: "sig" }

    const discovery = () => ({
      issuer: state.url,
      jwks_uri: `${state.url}${JWKS_PATH}`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: [ALG],
      // No authorization or token endpoint: tokens are minted by POST /__sim/oidc/token.
      claims_supported: ["iss", "sub", "aud", "exp", "iat", "scope"]
    })

    const routes = HttpRouter.empty.pipe(
      HttpRouter.get(DISCOVERY_PATH, Effect.sync(() => jsonResponse(discovery()))),
      HttpRouter.get(JWKS_PATH, Effect.sync(() => jsonResponse({ keys: [jwk] })))
    )

    const mintToken = Effect.fn("Simulator.mintToken")(function* (input: MintTokenInput) {
      const sub = input.sub ?? state.users.keys().next().value
      if (sub === undefined) {
        return yield* new SimulatorHookError({ reason: "UnknownUser", message: "The simulator has no users" })
      }
      yield* knownUser(state, sub)
      const scope =
        input.scope === undefined ? null : (typeof input.scope === "string" ? input.scope.split(/\s+/) : input.scope).filter((s) => s !== "").join(" ")
      const audience = input.audience ?? DEFAULT_TOKEN_AUDIENCE
      const lifetime = input.expiresInSeconds ?? DEFAULT_LIFETIME_SECONDS
      const now = Math.floor(Date.now() / 1000)
      const token = yield* Effect.promise(() =>
        new SignJWT(scope === null ? {} : { scope })
          .setProtectedHeader({ alg: ALG, kid: KID, typ: "at+jwt" })
          .setIssuer(state.url)
          .setSubject(sub)
          .setAudience(audience)
          .setIssuedAt(now)
          .setExpirationTime(now + lifetime)
          .sign(pair.privateKey)
      )
      return {
        access_token: token,
        token_type: "Bearer",
        expires_in: lifetime,
        issuer: state.url,
        audience,
        sub,
        scope
      } satisfies MintedToken
    })

    return { routes, mintToken }
  })
