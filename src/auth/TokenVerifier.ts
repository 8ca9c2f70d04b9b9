/**
 * Bearer tokens in http mode (docs/tool-contract.md §4): JWTs signed by the configured
 * issuer, checked against its JWKS for signature, `iss`, `aud` and
 * `exp`/`nbf` (60 s leeway). `sub` is the user; `scope`/`scp` are the token
 * scopes. The token itself is only ever held `Redacted` and never logged.
 *
 * A string that is not a JWT is refused before anything is fetched.
 *
 * The JWKS URL comes from the issuer's discovery document unless configured;
 * discovery and the first key set fetch happen on first use, so the server
 * starts even while the issuer is down. Every fetch is bounded in time and
 * size (see `issuerFetch`). All callers waiting for the key set share one
 * attempt; a failed attempt is remembered for a cooldown (by default 1 s,
 * doubling per failure up to 60 s, reset by a success) during which callers
 * are told at once when to retry, and the issuer is not asked. jose's remote
 * key set caches keys and refetches (with its own cooldown) when a token
 * names an unknown `kid`, which is how key rotation is followed.
 */
import { createHash } from "node:crypto"
import { HttpClient } from "@effect/platform"
import { Cache, Cause, Clock, Context, Data, Duration, Effect, Exit, Layer, Option, Redacted, Ref, Schema } from "effect"
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors as JoseErrors,
  type JWTPayload,
  jwtVerify
} from "jose"
import { UserId } from "../domain/Ids.js"
import * as Scopes from "../domain/Scope.js"
import { getBody, IssuerFetchFailed, type IssuerFetchLimits, joseFetch } from "./issuerFetch.js"
import { tracedFn } from "../log/spans.js"

/** The token is not acceptable: the caller must get another one (401 `invalid_token`). */
export class TokenRejected extends Data.TaggedError("TokenRejected")<{
  /** Why, for the response and the log; never contains the token or its claims' values. */
  readonly reason: string
}> {}

/** The issuer's discovery document or keys could not be fetched (503; the token may be fine). */
export class IssuerUnavailable extends Data.TaggedError("IssuerUnavailable")<{
  readonly reason: string
  readonly cause?: unknown
  /** When (epoch milliseconds, from the Clock) the issuer will be asked again; unset = at the next request. */
  readonly retryAt?: number
  /** How long this failure is remembered. */
  readonly cooldown?: Duration.Duration
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
  /** Largest discovery document or key set accepted (default 10 MiB; NC_MCP_MAX_RESPONSE_BYTES). */
  readonly maxResponseBytes?: number
  /** How long one fetch from the issuer may take, body included (default 5 s). */
  readonly issuerTimeout?: Duration.DurationInput
  /** How long a failed attempt to reach the issuer is remembered: `initial`, doubling per consecutive failure up to `max`. */
  readonly failureCooldown?: FailureCooldown
}

export interface FailureCooldown {
  readonly initial: Duration.DurationInput
  readonly max: Duration.DurationInput
}

export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
export const DEFAULT_ISSUER_TIMEOUT: Duration.Duration = Duration.seconds(5)
export const DEFAULT_FAILURE_COOLDOWN: FailureCooldown = { initial: "1 second", max: "60 seconds" }
/** How long a verified token is remembered (never past its `exp`). */
export const DEFAULT_CACHE_SECONDS = 60
const MAX_CACHED_TOKENS = 10_000

/** Where OpenID Connect discovery lives for an issuer (trailing slash tolerated). */
export const discoveryUrl = (issuer: string): string =>
  `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`

const Discovery = Schema.parseJson(Schema.Struct({ issuer: Schema.String, jwks_uri: Schema.String }))

type KeySet = ReturnType<typeof createRemoteJWKSet>

/** The cooldown after `failures` consecutive failed attempts (1, 2, …). */
export const failureCooldownMillis = (failures: number, cooldown: FailureCooldown): number =>
  Math.min(Duration.toMillis(cooldown.initial) * 2 ** Math.max(0, failures - 1), Duration.toMillis(cooldown.max))

const notAJwt = new TokenRejected({ reason: "the token is malformed: not a JWT" })
const BASE64URL = /^[A-Za-z0-9_-]+$/

/**
 * A compact JWS with JSON header and claims, the header naming an algorithm.
 * Checked before anything is fetched, so garbage costs the issuer nothing.
 */
const requireJwtShape = (raw: string): Effect.Effect<void, TokenRejected> => {
  const parts = raw.split(".")
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) return Effect.fail(notAJwt)
  return Effect.try({ try: () => ({ header: decodeProtectedHeader(raw), claims: decodeJwt(raw) }), catch: () => notAJwt }).pipe(
    Effect.filterOrFail(({ header }) => typeof header.alg === "string" && header.alg !== "" && header.alg !== "none", () => notAJwt),
    Effect.asVoid
  )
}

const decodeText = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

const discover = (client: HttpClient.HttpClient, issuer: string, limits: IssuerFetchLimits) =>
  Effect.gen(function* () {
    const url = discoveryUrl(issuer)
    const doc = yield* getBody(client, url, limits).pipe(
      Effect.map(decodeText),
      Effect.flatMap(Schema.decode(Discovery)),
      Effect.mapError((error) =>
        error._tag === "IssuerFetchFailed"
          ? new IssuerUnavailable({ reason: `OpenID discovery at ${url} failed: ${error.reason}`, cause: error })
          : // The parse error holds the whole document: not worth keeping for the cooldown.
            new IssuerUnavailable({ reason: `the discovery document at ${url} is not valid` })
      )
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

/** A key set fetch that failed (as opposed to any other error from jose): the key set must be loaded afresh. */
const isFetchFailure = (error: unknown): boolean =>
  error instanceof IssuerFetchFailed ||
  error instanceof JoseErrors.JWKSTimeout ||
  error instanceof JoseErrors.JWKSInvalid ||
  (error instanceof JoseErrors.JOSEError && error.code === "ERR_JOSE_GENERIC")

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
    const limits: IssuerFetchLimits = {
      timeout: Duration.decode(config.issuerTimeout ?? DEFAULT_ISSUER_TIMEOUT),
      maxBytes: config.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
    }
    const keySetCooldownMillis = (config.keySetCooldownSeconds ?? 30) * 1000
    const failureCooldown = config.failureCooldown ?? DEFAULT_FAILURE_COOLDOWN

    /** The key set at its URL, with its first fetch done (so a failure to fetch it is a failed attempt). */
    const loadKeySet = Effect.gen(function* () {
      const url = Option.isSome(config.jwksUrl) ? config.jwksUrl.value : yield* discover(http, config.issuer, limits)
      const set = createRemoteJWKSet(url, {
        timeoutDuration: Duration.toMillis(limits.timeout),
        cooldownDuration: keySetCooldownMillis,
        cacheMaxAge: 10 * 60_000,
        [customFetch]: joseFetch(http, limits)
      })
      yield* Effect.tryPromise({
        try: () => set.reload(),
        catch: (cause) =>
          new IssuerUnavailable({
            reason: `the key set at ${url.href} could not be fetched${cause instanceof IssuerFetchFailed ? `: ${cause.reason}` : ""}`,
            cause
          })
      })
      return set
    })

    const failures = yield* Ref.make(0)
    const attempt = loadKeySet.pipe(
      Effect.tap(() => Ref.set(failures, 0)),
      Effect.catchAll((error) =>
        Effect.gen(function* () {
          const cooldown = Duration.millis(failureCooldownMillis(yield* Ref.updateAndGet(failures, (n) => n + 1), failureCooldown))
          const now = yield* Clock.currentTimeMillis
          yield* Effect.logWarning("cannot verify bearer tokens: the issuer is unavailable", {
            reason: error.reason,
            retryIn: Duration.format(cooldown)
          })
          return yield* new IssuerUnavailable({ reason: error.reason, cause: error.cause, retryAt: now + Duration.toMillis(cooldown), cooldown })
        })
      )
    )
    /** One entry: waiters share the attempt in flight; a failure stays for its cooldown, a success until a fetch fails. */
    const keySets = yield* Cache.makeWith({
      capacity: 1,
      lookup: (_: "keys") => attempt,
      timeToLive: Exit.match({
        onSuccess: () => Duration.infinity,
        onFailure: (cause) =>
          Cause.failureOption(cause).pipe(
            Option.flatMap((error) => Option.fromNullable(error.cooldown)),
            Option.getOrElse(() => Duration.zero)
          )
      })
    })
    // Uninterruptible: an interrupted caller would interrupt every caller waiting on the same attempt. The attempt is bounded by its timeouts.
    const keySet = Effect.uninterruptible(keySets.get("keys"))
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

    // Every http request comes through here: a span only when a tracer is on (log/spans.ts).
    const verify = tracedFn("TokenVerifier.verify")(Effect.fnUntraced(function* (token: Redacted.Redacted<string>) {
      const now = yield* Clock.currentTimeMillis
      const key = createHash("sha256").update(Redacted.value(token)).digest("base64url")
      const hit = verified.get(key)
      if (hit !== undefined && now < hit.until) return hit.token
      yield* requireJwtShape(Redacted.value(token))
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
      }).pipe(
        // A refetch of the keys (rotation, or expiry) failed: the next request makes a fresh attempt, under the cooldown.
        Effect.tapError((error) => (error._tag === "IssuerUnavailable" && isFetchFailure(error.cause) ? keySets.invalidate("keys") : Effect.void))
      )
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
    }))

    return { verify } as const
  })

export class TokenVerifier extends Context.Tag("nextcloud-mcp/TokenVerifier")<TokenVerifier, TokenVerifierShape>() {
  static readonly layer = (config: TokenVerifierConfig): Layer.Layer<TokenVerifier, never, HttpClient.HttpClient> =>
    Layer.effect(TokenVerifier, make(config))
}
