/**
 * A tiny OpenID issuer on 127.0.0.1 for tests: discovery document, JWKS, and
 * tokens signed with a generated key. `rotate()` switches to a new signing
 * key (served alongside the old one), `foreignToken()` signs with a key the
 * JWKS never publishes.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
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

export interface TestIssuer {
  readonly url: string
  readonly jwksUrl: string
  /** Requests seen, by path. */
  readonly hits: Map<string, number>
  readonly token: (options?: TokenOptions) => Promise<string>
  /** Signed with a key the JWKS does not contain. */
  readonly foreignToken: (options?: TokenOptions) => Promise<string>
  readonly rotate: () => Promise<void>
  readonly close: () => Promise<void>
}

const ALG = "ES256"

const publicJwk = async (pair: KeyPair, kid: string): Promise<JWK> => ({
  ...(await exportJWK(pair.publicKey)),
  kid,
  alg: ALG,
  use: "sig"
})

export const startIssuer = async (options: { readonly audience: () => string } ): Promise<TestIssuer> => {
  let current = { pair: await generateKeyPair(ALG), kid: "k1" }
  const published: Array<JWK> = [await publicJwk(current.pair, current.kid)]
  const foreign = { pair: await generateKeyPair(ALG), kid: "k1" }
  const hits = new Map<string, number>()
  let base = ""
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/"
    hits.set(path, (hits.get(path) ?? 0) + 1)
    if (path === "/.well-known/openid-configuration") {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks`, response_types_supported: ["code"] }))
      return
    }
    if (path === "/jwks") {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ keys: published }))
      return
    }
    res.writeHead(404).end()
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
    jwksUrl: `${base}/jwks`,
    hits,
    token: (o) => sign(current, o),
    foreignToken: (o) => sign(foreign, o),
    rotate: async () => {
      const kid = `k${published.length + 1}`
      current = { pair: await generateKeyPair(ALG), kid }
      published.push(await publicJwk(current.pair, kid))
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}
