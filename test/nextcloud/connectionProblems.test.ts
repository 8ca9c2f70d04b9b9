/**
 * Set-up mistakes that waiting will not fix get messages naming the cause and
 * the setting to change — each made for real on 127.0.0.1: a self-signed
 * certificate, a closed port, https:// against plain http and the reverse, a
 * host name that does not resolve, a server that is not Nextcloud (404 on the
 * login endpoint), and a Nextcloud without the Notes app.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted } from "effect"
import { Notes, NotesLive } from "../../src/apps/notes/Client.js"
import { NextcloudLive } from "../../src/app.js"
import {
  describeNextcloudFailure,
  logDetail,
  type NextcloudNoSuchRoute,
  type NextcloudProtocolError,
  type NextcloudTransportError
} from "../../src/nextcloud/errors.js"
import { withTransport } from "../../src/nextcloud/layer.js"
import { LoginFlowClient } from "../../src/nextcloud/LoginFlowClient.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import * as Simulator from "../../src/simulator/index.js"
import { closedPort, config, fieldsOf, json, selfSigned, startHttpsStub, startStub } from "./stub.js"


/** Starting a login flow against `host`: the first call the server makes. */
const initiateAt = (host: string) =>
  Effect.flip(Effect.flatMap(LoginFlowClient, (c) => c.initiate)).pipe(
    Effect.provide(NextcloudLive.pipe(Layer.provide(config(host, { requestTimeout: Duration.seconds(5) }))))
  )

type Failure = NextcloudTransportError | NextcloudProtocolError | NextcloudNoSuchRoute

const messageFor = (host: string, error: Failure) =>
  describeNextcloudFailure(new URL(host), "start a login flow", error).message

describe("a failed connection names its cause and the setting to change", () => {
  it.scopedLive("a self-signed certificate: NODE_EXTRA_CA_CERTS or NEXTCLOUD_VERIFY_SSL, not 'try again later'", () =>
    Effect.gen(function* () {
      const stub = yield* startHttpsStub((_, res) => json(res, 200, {}), yield* selfSigned)
      const error = yield* initiateAt(stub.base)
      expect(fieldsOf(error)).toMatchObject({ _tag: "NextcloudTransportError", reason: "unreachable", problem: "untrusted-certificate" })
      // Not retried: a certificate does not get trusted by waiting.
      expect(stub.requests).toHaveLength(0)
      const message = messageFor(stub.base, error)
      expect(message).toBe(
        `Nextcloud at ${stub.base} could not be reached while trying to start a login flow: its TLS certificate is not trusted (self-signed certificate). ` +
          "If Nextcloud uses a self-signed certificate or a private CA, set NODE_EXTRA_CA_CERTS to a PEM file holding that certificate and restart the server; " +
          "NEXTCLOUD_VERIFY_SSL=false turns the check off (only on a network you trust)."
      )
      expect(message).not.toContain("Try again later")
      expect(logDetail(error)).toBe("untrusted-certificate: DEPTH_ZERO_SELF_SIGNED_CERT self-signed certificate")
    }))

  it.scopedLive("a closed port: refused, check host and port in NEXTCLOUD_HOST", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      const host = `http://127.0.0.1:${port}`
      const error = yield* initiateAt(host)
      expect(fieldsOf(error)).toMatchObject({ problem: "refused" })
      expect(messageFor(host, error)).toBe(
        `Nextcloud at ${host} could not be reached while trying to start a login flow: the connection to 127.0.0.1:${port} was refused (nothing listens on that port). ` +
          "Check the host and port in NEXTCLOUD_HOST, and that Nextcloud is running."
      )
      expect(logDetail(error)).toBe(`refused: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:${port}`)
    }))

  it.scopedLive("https:// against a plain http server: it does not speak TLS, write http://", () =>
    Effect.gen(function* () {
      const plain = yield* startStub((_, res) => json(res, 200, {}))
      const host = plain.base.replace("http:", "https:")
      const error = yield* initiateAt(host)
      expect(fieldsOf(error)).toMatchObject({ problem: "not-tls" })
      expect(messageFor(host, error)).toBe(
        `Nextcloud at ${host} could not be reached while trying to start a login flow: the server at 127.0.0.1:${plain.port} does not speak TLS (https:// against a plain http port?). ` +
          "If Nextcloud is served over plain http there, start NEXTCLOUD_HOST with http://; otherwise check its port."
      )
      expect(logDetail(error)).toMatch(/^not-tls: EPROTO .*wrong version number/)
    }))

  it.scopedLive("http:// against a TLS port: closed without an answer, write https://", () =>
    Effect.gen(function* () {
      const tls = yield* startHttpsStub((_, res) => json(res, 200, {}), yield* selfSigned)
      const host = tls.base.replace("https:", "http:")
      const error = yield* initiateAt(host)
      expect(fieldsOf(error)).toMatchObject({ problem: "closed" })
      expect(messageFor(host, error)).toContain("(http:// against an https port?). If Nextcloud is served over https there, start NEXTCLOUD_HOST with https://")
    }))

  it.scopedLive("a host name that does not resolve: DNS, check the host name", () =>
    Effect.gen(function* () {
      const host = "https://nextcloud.invalid"
      const error = yield* initiateAt(host)
      expect(fieldsOf(error)).toMatchObject({ problem: "dns" })
      expect(messageFor(host, error)).toMatch(
        /^Nextcloud at https:\/\/nextcloud\.invalid could not be reached while trying to start a login flow: the host name nextcloud\.invalid could not be resolved \((ENOTFOUND|EAI_AGAIN)\)\. Check the host name in NEXTCLOUD_HOST, and this machine's DNS\.$/
      )
    }))
})

describe("an answer that is not Nextcloud's names the likely mistake", () => {
  it.scopedLive("404 on the login endpoint: is Nextcloud at this URL? The message keeps NEXTCLOUD_HOST's path", () =>
    Effect.gen(function* () {
      const stub = yield* startStub((_, res) => {
        res.writeHead(404, { "content-type": "text/html" })
        res.end("<h1>Not Found</h1>")
      })
      const host = `${stub.base}/nextcloud`
      const error = yield* initiateAt(host)
      expect(fieldsOf(error)).toMatchObject({ _tag: "NextcloudProtocolError", status: 404 })
      expect(stub.requests.map((r) => r.url)).toEqual(["/nextcloud/index.php/login/v2"])
      expect(messageFor(host, error)).toBe(
        `Nextcloud at ${host} answered unexpectedly (HTTP 404: no login flow at /nextcloud/index.php/login/v2) while trying to start a login flow. ` +
          "Is Nextcloud at this URL? NEXTCLOUD_HOST must be Nextcloud's own address, with the path it is installed under if any (for example https://example.org/nextcloud)."
      )
    }))

  it.scopedLive("a Nextcloud without the Notes app: 404 from the router, not the app — is Notes installed?", () =>
    Effect.gen(function* () {
      // The simulated Nextcloud with no app mounted answers the Notes API with its HTML 404 page.
      const sim = yield* Simulator.make({ apps: [] })
      const error = yield* Effect.flip(
        Effect.flatMap(Notes, (notes) => notes.list({ loginName: "alice", appPassword: Redacted.make("x".repeat(72)) }))
      ).pipe(Effect.provide(withTransport(NotesLive).pipe(Layer.provide(NextcloudConfig.make(sim.url)))))
      expect(fieldsOf(error)).toMatchObject({ _tag: "NextcloudNoSuchRoute", app: "Notes" })
      if (error._tag !== "NextcloudNoSuchRoute") return
      expect(describeNextcloudFailure(new URL(sim.url), "list your notes", error).message).toBe(
        `Nextcloud at ${sim.url} has no Notes API: it answered HTTP 404 with a web page while trying to list your notes. ` +
          "Is the Notes app installed and enabled for your account? If it is, check that NEXTCLOUD_HOST is Nextcloud's own address, with the path it is installed under."
      )
    }))

  it.scopedLive("a missing note is still the app's own 404 (JSON), not a missing route", () =>
    Effect.gen(function* () {
      const { notesSimulator } = yield* Effect.promise(() => import("../../src/apps/notes/simulator.js"))
      const sim = yield* Simulator.make({ apps: [notesSimulator] })
      const pw = yield* sim.createAppPassword({ userId: "ada-5c7e" })
      const error = yield* Effect.flip(
        Effect.flatMap(Notes, (notes) => notes.get({ loginName: "ada@example.org", appPassword: Redacted.make(pw.password) }, 12345))
      ).pipe(Effect.provide(withTransport(NotesLive).pipe(Layer.provide(NextcloudConfig.make(sim.url)))))
      expect(error._tag).toBe("NextcloudNotFound")
    }))
})
