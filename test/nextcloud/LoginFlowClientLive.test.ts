import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Redacted } from "effect"
import { LoginFlowClient } from "../../src/nextcloud/LoginFlowClient.js"
import { NextcloudLive } from "../../src/app.js"
import {
  closedPort,
  config,
  dashedAppPassword,
  drop,
  expectNoSecrets,
  json,
  later,
  longAppPassword,
  startStub,
  token128
} from "./stub.js"

const pollToken = token128("PoLLt0ken")
const loginToken = token128("L0giNt0k")

const client = (host: string, publicUrl?: string, options: Parameters<typeof config>[1] = {}) =>
  NextcloudLive.pipe(
    Layer.provide(config(host, { ...options, ...(publicUrl === undefined ? {} : { publicUrl: new URL(publicUrl) }) }))
  )

const initiate = Effect.flatMap(LoginFlowClient, (c) => c.initiate)
const poll = (endpoint: string, token = pollToken) =>
  Effect.flatMap(LoginFlowClient, (c) => c.poll(endpoint, Redacted.make(token)))

// PHP's json_encode escapes slashes; keep that on the wire.
const initBody = (endpoint: string, login: string) =>
  JSON.stringify({ poll: { token: pollToken, endpoint }, login }).replaceAll("/", "\\/")

describe("LoginFlowClient.initiate", () => {
  it.scopedLive("rewrites an internal host: poll endpoint onto NEXTCLOUD_HOST, login onto NEXTCLOUD_PUBLIC_URL", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) =>
        json(
          res,
          200,
          initBody(
            "http://nextcloud-app/index.php/login/v2/poll",
            `http://nextcloud-app/index.php/login/v2/flow/${loginToken}`
          )
        )
      )
      const flow = yield* initiate.pipe(Effect.provide(client(stub.base, "https://cloud.example.com")))
      expect(flow.pollEndpoint).toBe(`${stub.base}/index.php/login/v2/poll`)
      expect(Redacted.value(flow.loginUrl)).toBe(`https://cloud.example.com/index.php/login/v2/flow/${loginToken}`)
      expect(Redacted.value(flow.pollToken)).toBe(pollToken)
      expectNoSecrets(flow, [pollToken, loginToken])

      expect(stub.requests).toHaveLength(1)
      const [request] = stub.requests
      expect(request?.method).toBe("POST")
      expect(request?.url).toBe("/index.php/login/v2")
      expect(request?.headers["user-agent"]).toBe("nextcloud-mcp (test)")
      expect(request?.headers["accept"]).toBe("application/json")
      expect(request?.headers["authorization"]).toBeUndefined()
    }))

  it.scopedLive("keeps a path prefix, works without /index.php, and the rewritten endpoint is pollable", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((request, res) => {
        if (request.url === "/nextcloud/index.php/login/v2") {
          return json(
            res,
            200,
            initBody(
              "http://10.0.0.5:8080/nextcloud/login/v2/poll?x=1",
              `http://10.0.0.5:8080/nextcloud/login/v2/flow/${loginToken}`
            )
          )
        }
        if (request.url === "/nextcloud/login/v2/poll?x=1") return json(res, 404, [])
        return json(res, 500, { unexpected: request.url })
      })
      const result = yield* Effect.gen(function*() {
        const flow = yield* initiate
        expect(flow.pollEndpoint).toBe(`${stub.base}/nextcloud/login/v2/poll?x=1`)
        expect(Redacted.value(flow.loginUrl)).toBe(
          `https://cloud.example.com:8443/nextcloud/login/v2/flow/${loginToken}`
        )
        return yield* poll(flow.pollEndpoint)
      }).pipe(Effect.provide(client(`${stub.base}/nextcloud`, "https://cloud.example.com:8443/nextcloud")))
      expect(result._tag).toBe("Pending")
    }))

  it.scopedLive("a 500 is a protocol error, after retries", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => json(res, 500, { message: "Could not initialize keys" }))
      // Retries happen while half the budget is left: 100 + 200 ms of back-off fit into 5 s.
      const error = yield* Effect.flip(
        initiate.pipe(Effect.provide(client(stub.base, undefined, { requestTimeout: Duration.seconds(5) })))
      )
      expect(error).toMatchObject({ _tag: "NextcloudProtocolError", operation: "LoginFlowClient.initiate", status: 500 })
      expect(stub.requests).toHaveLength(3)
    }))

  it.scopedLive("a transient 503 followed by a 200 succeeds", () =>
    Effect.gen(function*() {
      let calls = 0
      const stub = yield* startStub((_, res) => {
        calls++
        if (calls === 1) return json(res, 503, { message: "maintenance" })
        return json(res, 200, initBody("http://a/index.php/login/v2/poll", "http://a/index.php/login/v2/flow/x"))
      })
      const flow = yield* initiate.pipe(Effect.provide(client(stub.base)))
      expect(flow.pollEndpoint).toBe(`${stub.base}/index.php/login/v2/poll`)
      expect(stub.requests).toHaveLength(2)
    }))

  it.scopedLive("malformed JSON is a protocol error and is not retried", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => json(res, 200, `{"poll":{"token":"${pollToken}"`))
      const error = yield* Effect.flip(initiate.pipe(Effect.provide(client(stub.base))))
      expect(error).toMatchObject({ _tag: "NextcloudProtocolError", status: 200, detail: "body is not valid JSON" })
      expect(stub.requests).toHaveLength(1)
      expectNoSecrets(error, [pollToken])
    }))

  it.scopedLive("missing or invalid fields are a protocol error naming the fields, not their values", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) =>
        json(res, 200, { poll: { token: pollToken, endpoint: "not a url" }, login: "" })
      )
      const error = yield* Effect.flip(initiate.pipe(Effect.provide(client(stub.base))))
      expect(error._tag).toBe("NextcloudProtocolError")
      if (error._tag !== "NextcloudProtocolError") return
      expect(error.detail).toContain("poll.endpoint")
      expect(error.detail).toContain("login")
      expectNoSecrets(error, [pollToken, "not a url"])

      const stub2 = yield* startStub((_, res) => json(res, 200, { login: "http://a/login/v2/flow/x" }))
      const error2 = yield* Effect.flip(initiate.pipe(Effect.provide(client(stub2.base))))
      expect(error2).toMatchObject({ _tag: "NextcloudProtocolError", status: 200 })
    }))

  it.scopedLive("a closed port is unreachable", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const error = yield* Effect.flip(initiate.pipe(Effect.provide(client(`http://127.0.0.1:${port}`))))
      expect(error).toMatchObject({ _tag: "NextcloudTransportError", reason: "unreachable" })
    }))

  it.scopedLive("no answer within the timeout is a timeout", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => later(2_000, () => json(res, 200, {})))
      const error = yield* Effect.flip(initiate.pipe(Effect.provide(client(stub.base))))
      expect(error).toMatchObject({ _tag: "NextcloudTransportError", reason: "timeout" })
    }))
})

describe("LoginFlowClient.poll", () => {
  const completed = (appPassword: string) => ({
    server: "https://cloud.example.com",
    loginName: "ada@example.com",
    appPassword
  })

  it.scopedLive("404 [] is Pending; the token goes in a form body, without Authorization", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => json(res, 404, []))
      const result = yield* poll(`${stub.base}/index.php/login/v2/poll`).pipe(Effect.provide(client(stub.base)))
      expect(result).toEqual({ _tag: "Pending" })
      const [request] = stub.requests
      expect(request?.method).toBe("POST")
      expect(request?.url).toBe("/index.php/login/v2/poll")
      expect(request?.headers["content-type"]).toContain("application/x-www-form-urlencoded")
      expect(new URLSearchParams(request?.body).get("token")).toBe(pollToken)
      expect(request?.headers["authorization"]).toBeUndefined()
      expect(request?.headers["user-agent"]).toBe("nextcloud-mcp (test)")
    }))

  for (const [format, password] of [["72 alphanumeric", longAppPassword], ["dashed", dashedAppPassword]] as const) {
    it.scopedLive(`200 is Completed (${format} app password)`, () =>
      Effect.gen(function*() {
        const stub = yield* startStub((_, res) => json(res, 200, completed(password)))
        const result = yield* poll(`${stub.base}/login/v2/poll`).pipe(Effect.provide(client(stub.base)))
        expect(result._tag).toBe("Completed")
        if (result._tag !== "Completed") return
        expect(result.credentials.server).toBe("https://cloud.example.com")
        expect(result.credentials.loginName).toBe("ada@example.com")
        expect(Redacted.value(result.credentials.appPassword)).toBe(password)
        expectNoSecrets(result, [password])
      }))
  }

  const failures: ReadonlyArray<
    readonly [string, Parameters<typeof startStub>[0], { readonly _tag: string; readonly [k: string]: unknown }]
  > = [
    ["502", (_, res) => json(res, 502, "<html>Bad Gateway</html>"), { _tag: "NextcloudProtocolError", status: 502 }],
    ["403", (_, res) => json(res, 403, "forbidden"), { _tag: "NextcloudProtocolError", status: 403 }],
    ["500", (_, res) => json(res, 500, { message: "Internal" }), { _tag: "NextcloudProtocolError", status: 500 }],
    ["200 with garbage", (_, res) => json(res, 200, "<html>oops"), { _tag: "NextcloudProtocolError", status: 200 }],
    [
      "200 without loginName (the password must not leak)",
      (_, res) => json(res, 200, { server: "https://x", appPassword: longAppPassword }),
      { _tag: "NextcloudProtocolError", status: 200 }
    ],
    [
      "200 with an app password of the wrong shape",
      (_, res) => json(res, 200, { server: "https://x", loginName: "ada", appPassword: `${longAppPassword} ` }),
      { _tag: "NextcloudProtocolError", status: 200 }
    ],
    ["a dropped connection", (_, res) => drop(res), { _tag: "NextcloudTransportError", reason: "unreachable" }],
    [
      "a slow answer",
      (_, res) => later(2_000, () => json(res, 404, [])),
      { _tag: "NextcloudTransportError", reason: "timeout" }
    ],
    [
      "a body that stalls after the headers",
      (_, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.write(`{"server":"https://x","loginName":"ada","appPassword":"${longAppPassword}`)
        later(2_000, () => res.end(`"}`))
      },
      { _tag: "NextcloudTransportError", reason: "timeout" }
    ]
  ]

  for (const [name, handler, expected] of failures) {
    it.scopedLive(`${name} is an error, not Pending, and is not retried`, () =>
      Effect.gen(function*() {
        const stub = yield* startStub(handler)
        const result = yield* Effect.either(
          poll(`${stub.base}/index.php/login/v2/poll`).pipe(Effect.provide(client(stub.base)))
        )
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isRight(result)) return
        expect(result.left).toMatchObject({ ...expected, operation: "LoginFlowClient.poll" })
        expect(stub.requests).toHaveLength(1)
        expectNoSecrets(result.left, [pollToken, longAppPassword])
      }))
  }

  it.scopedLive("a closed port is unreachable", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const base = `http://127.0.0.1:${port}`
      const error = yield* Effect.flip(poll(`${base}/index.php/login/v2/poll`).pipe(Effect.provide(client(base))))
      expect(error).toMatchObject({ _tag: "NextcloudTransportError", reason: "unreachable" })
      expectNoSecrets(error, [pollToken])
    }))

  it.scopedLive("an unparseable endpoint is a protocol error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(poll("::not a url::").pipe(Effect.provide(client("http://127.0.0.1:1"))))
      expect(error).toMatchObject({ _tag: "NextcloudProtocolError", status: 0 })
      expectNoSecrets(error, [pollToken])
    }))
})
