/**
 * A tiny OpenID issuer on 127.0.0.1 for tests: discovery document, JWKS, and
 * tokens signed with a generated key. `rotate()` switches to a new signing
 * key (served alongside the old one), `foreignToken()` signs with a key the
 * JWKS never publishes.
 *
 * Fault switches make discovery or the JWKS misbehave: `fault()` picks how
 * they answer (fail with 500, hang, or stream an endless document), `hold()`
 * keeps their answers back until released, and `fetches()`/`bytesSent()`
 * show what the server under test asked for and received.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose"

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>

export interface TokenOptions {
  readonly sub?: string
  readonly scope?: string
  readonly scp?: ReadonlyArray<string>
  readonly audience?: string
  readonly issuer?: string
  /** Seconds from now; negative = already expired. */
  readonly expiresIn?: number
  /** Seconds from now. */
  readonly notBefore?: number
  readonly claims?: JWTPayload
}

export type IssuerEndpoint = "discovery" | "jwks"

/**
 * How an endpoint answers: "ok"; "fail" (500); "hang" (headers never come);
 * "huge" (200, then a JSON document that never ends, streamed with
 * backpressure until the client goes away or `HUGE_LIMIT_BYTES` is sent);
 * `{ padBytes }` (the right document, padded to be that much larger).
 */
export type IssuerFault = "ok" | "fail" | "hang" | "huge" | { readonly padBytes: number }

/** Where an endless answer gives up if the client never stops reading. */
export const HUGE_LIMIT_BYTES = 64 * 1024 * 1024

export interface TestIssuer {
  readonly url: string
  readonly jwksUrl: string
  /** Requests seen, by path. */
  readonly hits: Map<string, number>
  readonly token: (options?: TokenOptions) => Promise<string>
  /** Signed with a key the JWKS does not contain. */
  readonly foreignToken: (options?: TokenOptions) => Promise<string>
  readonly rotate: () => Promise<void>
  /** How `endpoint` answers from now on. */
  readonly fault: (endpoint: IssuerEndpoint, fault: IssuerFault) => void
  /**
   * Keep `endpoint`'s answers back (requests are counted on arrival) until the
   * returned function is called; then they, and later ones, answer per the
   * fault set at that time.
   */
  readonly hold: (endpoint: IssuerEndpoint) => () => void
  /** Requests `endpoint` received. */
  readonly fetches: (endpoint: IssuerEndpoint) => number
  /** Body bytes written by `endpoint`'s answers (what a "huge" answer got out before the client stopped it). */
  readonly bytesSent: (endpoint: IssuerEndpoint) => number
  readonly close: () => Promise<void>
}

const ALG = "ES256"
const DISCOVERY_PATH = "/.well-known/openid-configuration"
const JWKS_PATH = "/jwks"

const publicJwk = async (pair: KeyPair, kid: string): Promise<JWK> => ({
  ...(await exportJWK(pair.publicKey)),
  kid,
  alg: ALG,
  use: "sig"
})

/** An endless JSON document: `prefix` (an object missing its closing brace), then a padding string. */
const streamHuge = (res: ServerResponse, prefix: string, sent: (bytes: number) => void) => {
  const chunk = Buffer.alloc(64 * 1024, "a")
  let total = 0
  res.writeHead(200, { "content-type": "application/json" })
  const head = Buffer.from(`${prefix},"padding":"`)
  res.write(head)
  sent(head.length)
  const pump = () => {
    while (!res.destroyed && total < HUGE_LIMIT_BYTES) {
      total += chunk.length
      sent(chunk.length)
      if (!res.write(chunk)) {
        res.once("drain", pump)
        return
      }
    }
    if (!res.destroyed) res.end(`"}`)
  }
  pump()
}

export const startIssuer = async (options: { readonly audience: () => string }): Promise<TestIssuer> => {
  let current = { pair: await generateKeyPair(ALG), kid: "k1" }
  const published: Array<JWK> = [await publicJwk(current.pair, current.kid)]
  const foreign = { pair: await generateKeyPair(ALG), kid: "k1" }
  const hits = new Map<string, number>()
  const faults: Record<IssuerEndpoint, IssuerFault> = { discovery: "ok", jwks: "ok" }
  const held: Record<IssuerEndpoint, Promise<void> | undefined> = { discovery: undefined, jwks: undefined }
  const sent: Record<IssuerEndpoint, number> = { discovery: 0, jwks: 0 }
  let base = ""

  const documents: Record<IssuerEndpoint, () => Record<string, unknown>> = {
    discovery: () => ({ issuer: base, jwks_uri: `${base}${JWKS_PATH}`, response_types_supported: ["code"] }),
    jwks: () => ({ keys: published })
  }

  const answer = (endpoint: IssuerEndpoint, res: ServerResponse) => {
    const fault = faults[endpoint]
    if (typeof fault === "object") {
      const padded = JSON.stringify({ ...documents[endpoint](), padding: "a".repeat(fault.padBytes) })
      res.writeHead(200, { "content-type": "application/json" }).end(padded)
      sent[endpoint] += Buffer.byteLength(padded)
      return
    }
    const doc = JSON.stringify(documents[endpoint]())
    switch (fault) {
      case "ok":
        res.writeHead(200, { "content-type": "application/json" })
        res.end(doc)
        sent[endpoint] += Buffer.byteLength(doc)
        return
      case "fail":
        res.writeHead(500, { "content-type": "text/plain" }).end("issuer failure")
        return
      case "hang":
        return
      case "huge":
        streamHuge(res, doc.slice(0, -1), (bytes) => (sent[endpoint] += bytes))
        return
    }
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/"
    hits.set(path, (hits.get(path) ?? 0) + 1)
    const endpoint: IssuerEndpoint | undefined =
      path === DISCOVERY_PATH ? "discovery" : path === JWKS_PATH ? "jwks" : undefined
    if (endpoint === undefined) {
      res.writeHead(404).end()
      return
    }
    const gate = held[endpoint]
    if (gate === undefined) answer(endpoint, res)
    else void gate.then(() => answer(endpoint, res))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const sign = (key: { pair: KeyPair; kid: string }, o: TokenOptions = {}) => {
    const now = Math.floor(Date.now() / 1000)
    const claims: JWTPayload = { ...o.claims }
    if (o.scope !== undefined) claims["scope"] = o.scope
    if (o.scp !== undefined) claims["scp"] = [...o.scp]
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid: key.kid, typ: "at+jwt" })
      .setIssuer(o.issuer ?? base)
      .setAudience(o.audience ?? options.audience())
      .setSubject(o.sub ?? "alice")
      .setIssuedAt(now)
      .setExpirationTime(now + (o.expiresIn ?? 600))
    if (o.notBefore !== undefined) jwt = jwt.setNotBefore(now + o.notBefore)
    return jwt.sign(key.pair.privateKey)
  }

  return {
    url: base,
    jwksUrl: `${base}${JWKS_PATH}`,
    hits,
    token: (o) => sign(current, o),
    foreignToken: (o) => sign(foreign, o),
    rotate: async () => {
      const kid = `k${published.length + 1}`
      current = { pair: await generateKeyPair(ALG), kid }
      published.push(await publicJwk(current.pair, kid))
    },
    fault: (endpoint, fault) => {
      faults[endpoint] = fault
    },
    hold: (endpoint) => {
      let release = () => {}
      held[endpoint] = new Promise<void>((resolve) => {
        release = resolve
      })
      return () => {
        held[endpoint] = undefined
        release()
      }
    },
    fetches: (endpoint) => hits.get(endpoint === "discovery" ? DISCOVERY_PATH : JWKS_PATH) ?? 0,
    bytesSent: (endpoint) => sent[endpoint],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

/** An issuer for the length of an Effect test. */
export const withIssuer = <A, E, R>(audience: string, use: (issuer: TestIssuer) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => startIssuer({ audience: () => audience })),
    use,
    (issuer) => Effect.promise(() => issuer.close())
  )
