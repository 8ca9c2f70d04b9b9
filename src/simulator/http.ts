/** Small helpers shared by the simulator's routes. */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option } from "effect"
import type { SimState } from "./state.js"

/** A header value (node lower-cases header names). */
export const header = (request: HttpServerRequest.HttpServerRequest, name: string): string | undefined => {
  const value: unknown = request.headers[name.toLowerCase()]
  return typeof value === "string" ? value : undefined
}

export const searchParams = (request: HttpServerRequest.HttpServerRequest): URLSearchParams => {
  const q = request.url.indexOf("?")
  return new URLSearchParams(q < 0 ? "" : request.url.slice(q + 1))
}

const parseJsonObject = (text: string): Effect.Effect<Record<string, unknown>> =>
  Effect.try(() => JSON.parse(text) as unknown).pipe(
    Effect.map((value) =>
      typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
    ),
    Effect.orElseSucceed(() => ({}))
  )

/**
 * The request's parameters the way Nextcloud's request object merges them:
 * query string, then form or JSON body (body wins). Non-string JSON values
 * are ignored.
 */
export const requestParams = (
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<ReadonlyMap<string, string>> =>
  Effect.gen(function* () {
    const params = new Map<string, string>()
    for (const [k, v] of searchParams(request)) params.set(k, v)
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    if (text.trim() === "") return params
    const contentType = header(request, "content-type") ?? ""
    if (contentType.includes("json") || text.trimStart().startsWith("{")) {
      const body = yield* parseJsonObject(text)
      for (const [k, v] of Object.entries(body)) if (typeof v === "string") params.set(k, v)
    } else {
      for (const [k, v] of new URLSearchParams(text)) params.set(k, v)
    }
    return params
  })

/** JSON the way clients see it from PHP (slashes escaped, as `json_encode` does). */
export const jsonResponse = (body: unknown, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(body).replace(/\//g, "\\/"), {
    status,
    contentType: "application/json; charset=utf-8"
  })

/** JSON for the `/__sim` hooks (plain, unescaped). */
export const hookJson = (body: unknown, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(body), { status, contentType: "application/json; charset=utf-8" })

export const htmlPage = (status: number, title: string, body: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.html(
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
      `<body>${body}</body></html>\n`
  ).pipe(HttpServerResponse.setStatus(status))

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

/** `http://<Host header>`; the simulator's own URL when the header is missing. */
export const requestOrigin = (state: SimState, request: HttpServerRequest.HttpServerRequest): string => {
  const host = header(request, "host")
  return host === undefined || host === "" ? state.url : `http://${host}`
}

/** Where a failed-login counter is kept. */
export const clientIp = (request: HttpServerRequest.HttpServerRequest): string =>
  Option.getOrElse(request.remoteAddress, () => "unknown")

export const trimSlash = (s: string): string => s.replace(/\/+$/, "")
