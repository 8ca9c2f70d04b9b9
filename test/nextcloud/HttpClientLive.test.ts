import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { HttpClientLive } from "../../src/nextcloud/HttpClientLive.js"
import { makeCaller } from "../../src/nextcloud/call.js"
import { NextcloudLive } from "../../src/app.js"
import { LoginFlowClient } from "../../src/nextcloud/LoginFlowClient.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import { config, expectNoSecrets, json, later, longAppPassword, selfSigned, startHttpsStub, startStub } from "./stub.js"


const init = { poll: { token: "t".repeat(128), endpoint: "http://x/login/v2/poll" }, login: "http://x/login/v2/flow/y" }

describe("HttpClientLive", () => {
  it.scopedLive("sends the configured User-Agent and Accept by default, and keeps a per-request Accept", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => json(res, 200, {}))
      yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        yield* client.execute(HttpClientRequest.get(`${stub.base}/a`))
        yield* client.execute(
          HttpClientRequest.get(`${stub.base}/b`).pipe(HttpClientRequest.setHeader("Accept", "application/xml"))
        )
      }).pipe(Effect.provide(HttpClientLive.pipe(Layer.provide(config(stub.base, { userAgent: "My MCP (host)" })))))
      expect(stub.requests.map((r) => [r.headers["user-agent"], r.headers["accept"]])).toEqual([
        ["My MCP (host)", "application/json"],
        ["My MCP (host)", "application/xml"]
      ])
      expect(stub.requests[0]?.headers["traceparent"]).toBeUndefined()
    }))

  it.scopedLive("a timeout never carries the request's credentials", () =>
    Effect.gen(function*() {
      const stub = yield* startStub((_, res) => later(2_000, () => json(res, 200, {})))
      const error = yield* Effect.gen(function*() {
        const nc = makeCaller(yield* HttpClient.HttpClient, yield* NextcloudConfig)
        return yield* Effect.flip(
          nc.text(
            "test",
            HttpClientRequest.post(`${stub.base}/x`).pipe(
              HttpClientRequest.basicAuth("ada", Redacted.make(longAppPassword)),
              HttpClientRequest.bodyUrlParams({ token: "SECRETPOLLTOKEN" })
            ),
            { idempotent: true }
          )
        )
      }).pipe(Effect.provide(HttpClientLive.pipe(Layer.provideMerge(config(stub.base)))))
      // The configured 200 ms budget ends the call; a timed-out request is not sent again.
      expect(error).toMatchObject({ _tag: "NextcloudTransportError", operation: "test", reason: "timeout" })
      expect(stub.requests.length).toBeLessThanOrEqual(1)
      expectNoSecrets(error, [longAppPassword, Buffer.from(`ada:${longAppPassword}`).toString("base64"), "SECRETPOLLTOKEN"])
    }))

  it.scopedLive("TLS: a self-signed certificate is refused by default and accepted with verifySsl=false", () =>
    Effect.gen(function*() {
      const tls = yield* selfSigned
      const stub = yield* startHttpsStub((_, res) => json(res, 200, init), tls)
      const initiate = Effect.flatMap(LoginFlowClient, (c) => c.initiate)

      const refused = yield* Effect.flip(initiate.pipe(Effect.provide(NextcloudLive.pipe(Layer.provide(config(stub.base))))))
      expect(refused).toMatchObject({ _tag: "NextcloudTransportError", reason: "unreachable" })

      const flow = yield* initiate.pipe(
        Effect.provide(NextcloudLive.pipe(Layer.provide(config(stub.base, { verifySsl: false }))))
      )
      expect(flow.pollEndpoint).toBe(`${stub.base}/login/v2/poll`)
    }))
})
