/**
 * A tiny scripted HTTP(S) server on 127.0.0.1 for exact wire behaviours.
 */
import { Duration, Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { expect } from "vitest"
import { NextcloudConfig, type NextcloudConfigShape } from "../../src/nextcloud/NextcloudConfig.js"

export interface Recorded {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

export type Handler = (request: Recorded, response: Http.ServerResponse) => void

export interface Stub {
  readonly port: number
  readonly base: string
  readonly requests: Array<Recorded>
}

const listen = (server: Http.Server, handler: Handler, scheme: "http" | "https") =>
  Effect.acquireRelease(
    Effect.async<Stub>((resume) => {
      const requests: Array<Recorded> = []
      server.on("request", (req: Http.IncomingMessage, res: Http.ServerResponse) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const recorded: Recorded = {
            method: req.method ?? "",
            url: req.url ?? "",
            headers: req.headers,
            body: Buffer.concat(chunks).toString("utf8")
          }
          requests.push(recorded)
          handler(recorded, res)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ port, base: `${scheme}://127.0.0.1:${port}`, requests }))
      })
    }),
    () =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )

/** An HTTP stub for the duration of the current scope. */
export const startStub = (handler: Handler) => listen(Http.createServer(), handler, "http")

/** An HTTPS stub with the given (self-signed) certificate. */
export const startHttpsStub = (handler: Handler, tls: { readonly key: string; readonly cert: string }) =>
  listen(Https.createServer(tls), handler, "https")

/** A port nothing listens on (bound, then released). */
export const closedPort = Effect.async<number>((resume) => {
  const server = Http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

export const json = (response: Http.ServerResponse, status: number, body: unknown): void => {
  const text = typeof body === "string" ? body : JSON.stringify(body)
  response.writeHead(status, { "content-type": "application/json; charset=utf-8" })
  response.end(text)
}

/** Answers after `ms` milliseconds (unless the connection is gone by then). */
export const later = (ms: number, f: () => void): void => {
  setTimeout(f, ms).unref()
}

/** Drops the connection without answering. */
export const drop = (response: Http.ServerResponse): void => {
  response.socket?.destroy()
}

/**
 * The request timeout of the clients under test: short, so the tests that wait
 * one out stay quick, yet long enough that a stub on 127.0.0.1 answers within
 * it on a loaded machine. Stubs meant to be too slow answer after 2 s.
 */
export const testTimeout = Duration.millis(500)

export const config = (
  host: string,
  options: Partial<Omit<NextcloudConfigShape, "host">> = {}
): Layer.Layer<NextcloudConfig> =>
  NextcloudConfig.make(host, { userAgent: "nextcloud-mcp (test)", requestTimeout: testTimeout, ...options })

/** Asserts that no rendering of `value` contains any of `secrets`. */
export const expectNoSecrets = (value: unknown, secrets: ReadonlyArray<string>): void => {
  const renderings = [JSON.stringify(value), String(value), inspect(value, { depth: 10 })]
  for (const rendering of renderings) {
    for (const secret of secrets) expect(rendering).not.toContain(secret)
  }
}

/** 72 `[A-Za-z0-9]` characters, like a flow-made app password. */
export const longAppPassword = "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LzXcVbNmQwErTyUiOpAsDfGhJkLzXcVbNm1234567890"
  .slice(0, 72)

/** Five dashed groups of five, like a password created in Settings. */
export const dashedAppPassword = "AbCdE-fGhJk-LmNpQ-rStUv-WxYz2"

/** 128 `[0-9A-Za-z]` characters, like a poll or login token. */
export const token128 = (seed: string): string => seed.repeat(Math.ceil(128 / seed.length)).slice(0, 128)

/**
 * A value's own fields as a plain object. Errors from traced calls are
 * wrapped with their span; asserting on the plain fields keeps a failure's
 * report short and readable.
 */
export const fieldsOf = (value: unknown): unknown => (typeof value === "object" && value !== null ? { ...value } : value)

/** A throwaway self-signed certificate for 127.0.0.1 (openssl), removed with the scope. */
export const selfSigned = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "nc-mcp-tls-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
).pipe(
  Effect.map((dir) => {
    execFileSync(
      "openssl",
      [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")
      ],
      { stdio: "ignore" }
    )
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") }
  })
)
