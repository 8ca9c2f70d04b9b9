/**
 * Bearer tokens in http mode (CONTRACT §4): JWTs signed by the configured
 * issuer, checked against its JWKS for signature, `iss`, `aud` and
 * `exp`/`nbf` (60 s leeway). `sub` is the user; `scope`/`scp` are the token
 * scopes. The token itself is only ever held `Redacted` and never logged.
 *
 * The JWKS URL comes from the issuer's discovery document unless configured;
 * discovery happens on first use and is retried until it succeeds, so the
 * server starts even while the issuer is briefly down. jose's remote key set
 * caches keys and refetches (with a cooldown) when a token names an unknown
 * `kid`, which is how key rotation is followed.
 */
import { createHash } from "node:crypto"
import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Clock, Context, Data, Effect, Layer, Option, Redacted, Schema, SynchronizedRef } from "effect"
import { createRemoteJWKSet, errors as JoseErrors, type JWTPayload, jwtVerify } from "jose"
import { UserId } from "../domain/Ids.js"
import * as Scopes from "../domain/Scope.js"

/** The token is not acceptable: the caller must get another one (401 `invalid_token`). */
export class TokenRejected extends Data.TaggedError("TokenRejected")<{
  /** Why, for the response and the log; never contains the token or its claims' values. */
  readonly reason: string
}> {}

/** The issuer's discovery document or keys could not be fetched (503; the token may be fine). */
export class IssuerUnavailable extends Data.TaggedError("IssuerUnavailable")<{
  readonly reason: string
  readonly cause?: unknown
}> {}

export interface VerifiedToken {
  readonly userId: UserId
  /** Canonical app scopes of the token (identity and unknown scopes dropped). */
  readonly scopes: ReadonlyArray<Scopes.Scope>
  /** `client_id` or `azp` when the issuer sets one, else the subject. */
  readonly clientId: string
  /** Seconds since the epoch. */
  readonly expiresAt: number | undefined
}

export interface TokenVerifierShape {
  readonly verify: (token: Redacted.Redacted<string>) => Effect.Effect<VerifiedToken, TokenRejected | IssuerUnavailable>
}

export interface TokenVerifierConfig {
  /** Compared verbatim with `iss`. */
  readonly issuer: string
  readonly audience: string
  /** Skip discovery and use this key set. */
  readonly jwksUrl: Option.Option<URL>
  readonly clockToleranceSeconds?: number
  /** Least time between two JWKS fetches caused by unknown `kid`s (default 30 s). */
  readonly keySetCooldownSeconds?: number
  /** How long a verified token is remembered (default 60 s; 0 turns it off). */
  readonly cacheSeconds?: number
}

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60
/** How long a verified token is remembered (never past its `exp`). */
export const DEFAULT_CACHE_SECONDS = 60
const MAX_CACHED_TOKENS = 10_000

/** Where OpenID Connect discovery lives for an issuer (trailing slash tolerated). */
export const discoveryUrl = (issuer: string): string =>
  `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`

const Discovery = Schema.Struct({ issuer: Schema.String, jwks_uri: Schema.String })

type KeySet = ReturnType<typeof createRemoteJWKSet>

const remoteKeySet = (url: URL, cooldownSeconds: number): KeySet =>
  createRemoteJWKSet(url, { timeoutDuration: 5_000, cooldownDuration: cooldownSeconds * 1000, cacheMaxAge: 10 * 60_000 })

const discover = (issuer: string) =>
  Effect.gen(function* () {
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
    const doc = yield* client.execute(HttpClientRequest.get(discoveryUrl(issuer)).pipe(HttpClientRequest.acceptJson)).pipe(
      Effect.flatMap(HttpClientResponse.schemaBodyJson(Discovery)),
      Effect.scoped,
      Effect.timeout("5 seconds"),
      Effect.mapError((cause) => new IssuerUnavailable({ reason: `OpenID discovery at ${discoveryUrl(issuer)} failed`, cause }))
    )
    if (doc.issuer !== issuer) {
      return yield* new IssuerUnavailable({
        reason: `the discovery document names issuer ${doc.issuer}, not the configured ${issuer}`
      })
    }
    if (!URL.canParse(doc.jwks_uri)) {
      return yield* new IssuerUnavailable({ reason: "the discovery document's jwks_uri is not a URL" })
    }
    return new URL(doc.jwks_uri)
  })

/** jose failures that say nothing about the token but about reaching the issuer's keys. */
const isKeySetFailure = (error: unknown): boolean =>
  !(error instanceof JoseErrors.JOSEError) ||
  error instanceof JoseErrors.JWKSTimeout ||
  error instanceof JoseErrors.JWKSInvalid ||
  error.code === "ERR_JOSE_GENERIC"

const rejectionReason = (error: unknown): string => {
  if (error instanceof JoseErrors.JWTExpired) return "the token has expired"
  if (error instanceof JoseErrors.JWTClaimValidationFailed) {
    if (error.claim === "iss") return "the token was issued by another issuer"
    if (error.claim === "aud") return "the token is meant for another audience"
    if (error.claim === "nbf") return "the token is not valid yet"
    return `the token's "${error.claim}" claim is invalid`
  }
  if (error instanceof JoseErrors.JWSSignatureVerificationFailed) return "the token's signature does not verify"
  if (error instanceof JoseErrors.JWKSNoMatchingKey) return "the token is not signed by a key of the issuer"
  return "the token is malformed or uses an unsupported algorithm"
}

const scopesOf = (payload: JWTPayload): ReadonlyArray<Scopes.Scope> => {
  const scope = payload["scope"]
  const scp = payload["scp"]
  if (typeof scope === "string") return Scopes.fromTokenClaim(scope)
  if (Array.isArray(scp)) return Scopes.fromTokenClaim(scp.filter((s): s is string => typeof s === "string"))
  if (typeof scp === "string") return Scopes.fromTokenClaim(scp)
  return []
}

const clientIdOf = (payload: JWTPayload, sub: string): string => {
  const id = payload["client_id"] ?? payload["azp"]
  return typeof id === "string" && id !== "" ? id : sub
}

export const make = (config: TokenVerifierConfig): Effect.Effect<TokenVerifierShape, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const cooldown = config.keySetCooldownSeconds ?? 30
    const configured = Option.map(config.jwksUrl, (url) => remoteKeySet(url, cooldown))
    const keys = yield* SynchronizedRef.make<Option.Option<KeySet>>(configured)
    const keySet = SynchronizedRef.modifyEffect(keys, (current) =>
      Option.match(current, {
        onSome: (set) => Effect.succeed([set, current] as const),
        onNone: () =>
          discover(config.issuer).pipe(
            Effect.provideService(HttpClient.HttpClient, http),
            Effect.map((url) => {
              const set = remoteKeySet(url, cooldown)
              return [set, Option.some(set)] as const
            })
          )
      })
    )
    const clockTolerance = config.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS

    /**
     * Clients send the same token with every request, and an ES256 check costs
     * a WebCrypto round trip: a verified token is remembered (by its SHA-256,
     * never the token itself) for at most `cacheSeconds` and never past `exp`.
     */
    const verified = new Map<string, { readonly token: VerifiedToken; readonly until: number }>()
    const cacheMillis = (config.cacheSeconds ?? DEFAULT_CACHE_SECONDS) * 1000
    const remember = (key: string, token: VerifiedToken, now: number) => {
      const until = Math.min(now + cacheMillis, (token.expiresAt ?? 0) * 1000)
      if (until <= now) return
      if (verified.size >= MAX_CACHED_TOKENS) {
        for (const [k, entry] of verified) if (entry.until <= now) verified.delete(k)
        if (verified.size >= MAX_CACHED_TOKENS) verified.clear()
      }
      verified.set(key, { token, until })
    }

    const verify = Effect.fn("TokenVerifier.verify")(function* (token: Redacted.Redacted<string>) {
      const now = yield* Clock.currentTimeMillis
      const key = createHash("sha256").update(Redacted.value(token)).digest("base64url")
      const hit = verified.get(key)
      if (hit !== undefined && now < hit.until) return hit.token
      const set = yield* keySet
      const { payload } = yield* Effect.tryPromise({
        try: () =>
          jwtVerify(Redacted.value(token), set, {
            issuer: config.issuer,
            audience: config.audience,
            clockTolerance,
            currentDate: new Date(now),
            requiredClaims: ["sub", "exp"]
          }),
        catch: (error): TokenRejected | IssuerUnavailable =>
          isKeySetFailure(error)
            ? new IssuerUnavailable({ reason: "the issuer's signing keys could not be fetched", cause: error })
            : new TokenRejected({ reason: rejectionReason(error) })
      })
      const userId = yield* Schema.decodeUnknown(UserId)(payload.sub).pipe(
        Effect.mapError(() => new TokenRejected({ reason: "the token's subject is missing or too long" }))
      )
      const result = {
        userId,
        scopes: scopesOf(payload),
        clientId: clientIdOf(payload, userId),
        expiresAt: payload.exp
      } satisfies VerifiedToken
      remember(key, result, now)
      return result
    })

    return { verify } as const
  })

export class TokenVerifier extends Context.Tag("nextcloud-mcp/TokenVerifier")<TokenVerifier, TokenVerifierShape>() {
  static readonly layer = (config: TokenVerifierConfig): Layer.Layer<TokenVerifier, never, HttpClient.HttpClient> =>
    Layer.effect(TokenVerifier, make(config))
}
