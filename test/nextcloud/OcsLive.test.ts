import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted } from "effect"
import { NextcloudLive } from "../../src/app.js"
import { type Credentials, Ocs } from "../../src/nextcloud/Ocs.js"
import {
  closedPort,
  config,
  dashedAppPassword,
  expectNoSecrets,
  json,
  later,
  longAppPassword,
  type Recorded,
  startStub
} from "./stub.js"

const credentials: Credentials = { loginName: "Ada@Example.com", appPassword: Redacted.make(longAppPassword) }

const client = (host: string, options: Parameters<typeof config>[1] = {}) =>
  NextcloudLive.pipe(Layer.provide(config(host, options)))

const currentUser = (c: Credentials = credentials) => Effect.flatMap(Ocs, (ocs) => ocs.currentUser(c))
const revoke = (c: Credentials = credentials) => Effect.flatMap(Ocs, (ocs) => ocs.revokeAppPassword(c))

const ocsOk = (data: unknown) => ({
  ocs: { meta: { status: "ok", statuscode: 200, message: "OK", totalitems: "", itemsperpage: "" }, data }
})
const ocsUnauthorised = {
  ocs: { meta: { status: "failure", statuscode: 997, message: "Unauthorised", totalitems: "", itemsperpage: "" }, data: [] }
}

const expectOcsHeaders = (request: Recorded | undefined, loginName: string, password: string) => {
  expect(request?.headers["ocs-apirequest"]).toBe("true")
  expect(request?.headers["accept"]).toBe("application/json")
  expect(request?.headers["user-agent"]).toBe("nextcloud-mcp (test)")
  expect(request?.headers["authorization"]).toBe(
    `Basic ${Buffer.from(`${loginName}:${password}`).toString("base64")}`
  )
}

describe("Ocs.currentUser", () => {
  it.scopedLive("returns the uid, which differs from the login name, and the display name", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) =>
        json(
          res,
          200,
          ocsOk({ id: "ada", displayname: "Ada Lovelace", "display-name": "Ada Lovelace", email: "ada@example.com" })
        )
      )
      const user = yield* currentUser().pipe(Effect.provide(client(stub.base)))
      expect(user).toEqual({ id: "ada", displayName: "Ada Lovelace" })
      const [request] = stub.requests
      expect(request?.method).toBe("GET")
      expect(request?.url).toBe("/ocs/v2.php/cloud/user?format=json")
      expectOcsHeaders(request, "Ada@Example.com", longAppPassword)
    }))

  it.scopedLive("under a path prefix, with the legacy display-name key only, and a dashed password", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => json(res, 200, ocsOk({ id: "8c1e-uuid", displayname: "Grace" })))
      const user = yield* currentUser({ loginName: "grace", appPassword: Redacted.make(dashedAppPassword) }).pipe(
        Effect.provide(client(`${stub.base}/nextcloud`))
      )
      expect(user).toEqual({ id: "8c1e-uuid", displayName: "Grace" })
      expect(stub.requests[0]?.url).toBe("/nextcloud/ocs/v2.php/cloud/user?format=json")
      expectOcsHeaders(stub.requests[0], "grace", dashedAppPassword)
    }))

  it.scopedLive("no display name is null", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => json(res, 200, ocsOk({ id: "bob", "display-name": null })))
      const user = yield* currentUser().pipe(Effect.provide(client(stub.base)))
      expect(user).toEqual({ id: "bob", displayName: null })
    }))

  it.scopedLive("401 is NextcloudUnauthorized and is never retried", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => {
        res.setHeader("WWW-Authenticate", "Basic realm=\"Authorisation Required\"")
        json(res, 401, ocsUnauthorised)
      })
      const error = yield* Effect.flip(currentUser().pipe(Effect.provide(client(stub.base))))
      expect(error).toEqual(expect.objectContaining({ _tag: "NextcloudUnauthorized", operation: "Ocs.currentUser" }))
      expect(stub.requests).toHaveLength(1)
      expectNoSecrets(error, [longAppPassword])
    }))

  it.scopedLive("HTTP 200 with OCS statuscode 997 is NextcloudUnauthorized too", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => json(res, 200, ocsUnauthorised))
      const error = yield* Effect.flip(currentUser().pipe(Effect.provide(client(stub.base))))
      expect(error._tag).toBe("NextcloudUnauthorized")
      expect(stub.requests).toHaveLength(1)
    }))

  it.scopedLive("412 (CSRF check failed) is a protocol error that says so, not retried", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => json(res, 412, { message: "CSRF check failed" }))
      const error = yield* Effect.flip(currentUser().pipe(Effect.provide(client(stub.base))))
      expect(error).toMatchObject({ _tag: "NextcloudProtocolError", status: 412 })
      if (error._tag === "NextcloudProtocolError") expect(error.detail).toContain("CSRF")
      expect(stub.requests).toHaveLength(1)
    }))

  it.scopedLive("a 500 is retried, then reported", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => json(res, 500, { message: "boom" }))
      // Retries happen while half the budget is left: 100 + 200 ms of back-off fit into 5 s.
      const error = yield* Effect.flip(currentUser().pipe(Effect.provide(client(stub.base, { requestTimeout: Duration.seconds(5) }))))
      expect(error).toMatchObject({ _tag: "NextcloudProtocolError", status: 500 })
      expect(stub.requests).toHaveLength(3)
    }))

  it.scopedLive("a transient 502 then 200 succeeds", () =>
    Effect.gen(function*() {
      let calls = 0
      const stub = yield* startStub((_, res) => {
        calls++
        return calls === 1 ? json(res, 502, "bad gateway") : json(res, 200, ocsOk({ id: "ada" }))
      })
      const user = yield* currentUser().pipe(Effect.provide(client(stub.base)))
      expect(user).toEqual({ id: "ada", displayName: null })
      expect(stub.requests).toHaveLength(2)
    }))

  it.scopedLive("a malformed body is a protocol error without the body's content", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => json(res, 200, ocsOk({ displayname: longAppPassword })))
      const error = yield* Effect.flip(currentUser().pipe(Effect.provide(client(stub.base))))
      expect(error).toMatchObject({ _tag: "NextcloudProtocolError", status: 200 })
      expectNoSecrets(error, [longAppPassword])
    }))

  it.scopedLive("timeouts and a closed port are transport errors; a timed-out request is not repeated", () =>
    Effect.gen(function*() {
      const slow = yield* startStub((_, res) => later(2_000, () => json(res, 200, ocsOk({ id: "ada" }))))
      const timeout = yield* Effect.flip(currentUser().pipe(Effect.provide(client(slow.base))))
      expect(timeout).toMatchObject({ _tag: "NextcloudTransportError", reason: "timeout" })
      expect(slow.requests).toHaveLength(1)
      expectNoSecrets(timeout, [longAppPassword])

      const port = yield* closedPort
      const refused = yield* Effect.flip(currentUser().pipe(Effect.provide(client(`http://127.0.0.1:${port}`))))
      expect(refused).toMatchObject({ _tag: "NextcloudTransportError", reason: "unreachable" })
      expectNoSecrets(refused, [longAppPassword])
    }))
})

describe("Ocs.revokeAppPassword", () => {
  for (const status of [200, 401]) {
    it.scopedLive(`${status} counts as revoked`, () =>
      Effect.gen(function*() {
        const stub = yield* startStub((_, res) => json(res, status, status === 200 ? ocsOk([]) : ocsUnauthorised))
        yield* revoke().pipe(Effect.provide(client(stub.base)))
        const [request] = stub.requests
        expect(request?.method).toBe("DELETE")
        expect(request?.url).toBe("/ocs/v2.php/core/apppassword?format=json")
        expectOcsHeaders(request, "Ada@Example.com", longAppPassword)
      }))
  }

  it.scopedLive("403 (not an app password) is a protocol error", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) =>
        json(res, 403, { ocs: { meta: { status: "failure", statuscode: 403, message: "" }, data: [] } })
      )
      const error = yield* Effect.flip(revoke().pipe(Effect.provide(client(stub.base))))
      expect(error).toMatchObject({ _tag: "NextcloudProtocolError", operation: "Ocs.revokeAppPassword", status: 403 })
      expectNoSecrets(error, [longAppPassword])
    }))

  it.scopedLive("a 500 is a protocol error and is not retried", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => json(res, 500, {}))
      const error = yield* Effect.flip(revoke().pipe(Effect.provide(client(stub.base))))
      expect(error).toMatchObject({ _tag: "NextcloudProtocolError", status: 500 })
      expect(stub.requests).toHaveLength(1)
    }))
})
