/**
 * Fault injection and request counting, as one middleware around every
 * route except the `/__sim` hooks (so a test can always clear what it set).
 *
 * A fault applies to the next N matching requests (`times`), or until it is
 * cleared. With `phase: "before"` (default) the request never reaches the
 * simulated Nextcloud, so no state changes; with `phase: "after"` the request
 * is handled (a poll consumes its flow, a rotate re-keys) and only the answer
 * is replaced: the "it happened but the response got lost" case.
 */
import { HttpServerRequest, HttpServerResponse, type HttpApp } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect, Schema } from "effect"
import { pathOf, ROUTE_KEYS, routeKey, type RouteKey } from "./routeKeys.js"
import { endlessChunk, hugeBody } from "./hostileAnswers.js"
import type { SimState } from "./state.js"

export const FaultKind = Schema.Union(
  /** Wait this long, then answer normally. */
  Schema.TaggedStruct("Latency", { millis: Schema.Number.pipe(Schema.int(), Schema.nonNegative()) }),
  /** Answer with this status (an HTML error page). */
  Schema.TaggedStruct("Status", { status: Schema.Number.pipe(Schema.int(), Schema.between(400, 599)) }),
  /** 200 with a JSON content type and a truncated JSON body. */
  Schema.TaggedStruct("MalformedJson", {}),
  /** Destroy the socket without answering. */
  Schema.TaggedStruct("Drop", {}),
  /**
   * 200 with a JSON or XML content type and a body of `bytes` bytes, made up
   * while it is sent (nothing is held in memory; the client's reading paces
   * it). With `announce`, a Content-Length says the size up front.
   */
  Schema.TaggedStruct("HugeBody", {
    bytes: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
    contentType: Schema.Literal("json", "xml"),
    announce: Schema.optional(Schema.Boolean)
  }),
  /**
   * Notes list without end: every answer is a full chunk (`chunkSize`, default
   * 100) of notes never seen before, with a new `X-Notes-Chunk-Cursor` (or,
   * with `sameCursor`, always the same one), as a broken Notes app that never
   * says "no more".
   */
  Schema.TaggedStruct("EndlessChunks", { sameCursor: Schema.optional(Schema.Boolean) })
)
export type FaultKind = typeof FaultKind.Type

export const FaultTarget = Schema.Union(
  Schema.Literal(...ROUTE_KEYS),
  Schema.Struct({ pathPrefix: Schema.String })
)
export type FaultTarget = typeof FaultTarget.Type

export const FaultSpec = Schema.Struct({
  target: FaultTarget,
  fault: FaultKind,
  /** Apply to the next N matching requests; omitted = until cleared. */
  times: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.positive())),
  phase: Schema.optional(Schema.Literal("before", "after"))
})
export type FaultSpec = typeof FaultSpec.Type

export interface FaultEntry {
  readonly id: string
  readonly spec: FaultSpec
  /** Remaining applications; null = until cleared. */
  remaining: number | null
}

export interface FaultInfo {
  readonly id: string
  readonly spec: FaultSpec
  readonly remaining: number | null
}

/** Constructors for the fault kinds. */
export const Fault = {
  latency: (millis: number): FaultKind => ({ _tag: "Latency", millis }),
  status: (status: number): FaultKind => ({ _tag: "Status", status }),
  malformedJson: (): FaultKind => ({ _tag: "MalformedJson" }),
  drop: (): FaultKind => ({ _tag: "Drop" }),
  hugeBody: (bytes: number, contentType: "json" | "xml", options: { readonly announce?: boolean } = {}): FaultKind => ({
    _tag: "HugeBody",
    bytes,
    contentType,
    ...options
  }),
  endlessChunks: (options: { readonly sameCursor?: boolean } = {}): FaultKind => ({ _tag: "EndlessChunks", ...options })
} as const

const matches = (target: FaultTarget, key: RouteKey, path: string): boolean =>
  typeof target === "string" ? target === key : path.startsWith(target.pathPrefix)

/** Take one application of the first matching fault, if any. */
const takeFault = (state: SimState, key: RouteKey, path: string): FaultEntry | undefined => {
  const entry = state.faults.find((f) => matches(f.spec.target, key, path))
  if (entry === undefined) return undefined
  if (entry.remaining !== null) {
    entry.remaining--
    if (entry.remaining <= 0) state.faults = state.faults.filter((f) => f !== entry)
  }
  return entry
}

const MALFORMED_JSON = "{\"poll\":{\"token\":\"abc\",\"endpoint\":"

const statusPage = (status: number): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.html(`<!DOCTYPE html><html><head><title>${status}</title></head><body><h1>Error ${status}</h1></body></html>`).pipe(
    HttpServerResponse.setStatus(status)
  )

/** Close the connection without an answer; the server then interrupts this request's fiber. */
const dropConnection = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  yield* Effect.sync(() => NodeHttpServerRequest.toIncomingMessage(request).socket.destroy())
  return yield* Effect.never
})

export const withTraffic = (state: SimState) => {
  let endlessNotes = 0
  return <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = pathOf(request.url)
      const key = routeKey(request.method, path)
      if (key === "hooks") return yield* app
      const entry = yield* Effect.sync(() => {
        state.counters.requests[key] = (state.counters.requests[key] ?? 0) + 1
        return takeFault(state, key, path)
      })
      if (entry === undefined) return yield* app
      const fault = entry.spec.fault
      if (fault._tag === "Latency") {
        yield* Effect.sleep(fault.millis)
        return yield* app
      }
      if (entry.spec.phase === "after") yield* app
      switch (fault._tag) {
        case "Status":
          return statusPage(fault.status)
        case "MalformedJson":
          return HttpServerResponse.text(MALFORMED_JSON, { contentType: "application/json; charset=utf-8" })
        case "Drop":
          return yield* dropConnection
        case "HugeBody":
          return hugeBody(fault.bytes, fault.contentType, fault.announce ?? false)
        case "EndlessChunks": {
          const chunk = endlessChunk(request, endlessNotes + 1, fault.sameCursor ?? false)
          endlessNotes += chunk.size
          return chunk.response
        }
      }
    })
}
