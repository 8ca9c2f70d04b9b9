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
import { Effect } from "effect"
import type { FaultEntry, FaultTarget } from "./faultSpecs.js"
import { endlessChunk, hugeBody } from "./hostileAnswers.js"
import { pathOf, type RouteClassifier } from "./routeKeys.js"
import type { SimState } from "./state.js"

const matches = (target: FaultTarget, key: string, path: string): boolean =>
  typeof target === "string" ? target === key : path.startsWith(target.pathPrefix)

/** Take one application of the first matching fault, if any. */
const takeFault = (state: SimState, key: string, path: string): FaultEntry | undefined => {
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

/** Counts and faults every request but the hooks; `routeKey` names the route a request is for. */
export const withTraffic = (state: SimState, routeKey: RouteClassifier) => {
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
