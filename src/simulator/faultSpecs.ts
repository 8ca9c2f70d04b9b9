/**
 * What a test can ask the simulator to do wrong (docs/nextcloud-protocol.md
 * §10): the fault kinds, where they apply (a route key or a path prefix), for
 * how many requests, and before or after the request is handled. Route keys
 * are checked against the mounted apps' keys when a fault is injected.
 */
import { Schema } from "effect"

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

/** A route key (see routeKeys.ts; the mounted apps add theirs) or any path prefix. */
export const FaultTarget = Schema.Union(
  Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
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
