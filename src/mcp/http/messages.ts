/**
 * JSON-RPC over HTTP at the edge: error answers in JSON-RPC form, and a POST
 * body read as JSON within the size limit.
 */
import { type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type { Readable } from "node:stream"
import { Effect } from "effect"

/**
 * Largest POST body. It must carry the largest tool call the server offers:
 * a 1 MiB `nc_files_write`, whatever its characters (JSON escapes a control
 * character in 6 bytes, `\u0001`), and the JSON-RPC envelope around it.
 */
export const DEFAULT_MAX_BODY_BYTES = 7 * 1024 * 1024

export const jsonRpcError = (
  status: number,
  code: number,
  message: string,
  id: string | number | null = null,
  headers: Record<string, string> = {}
) => HttpServerResponse.unsafeJson({ jsonrpc: "2.0", error: { code, message }, id }, { status, headers })

const bodyTooLarge = (max: number) => jsonRpcError(413, -32000, `Request body exceeds ${max} bytes`)

/**
 * The request body as JSON, within the size limit; a ready error response
 * otherwise. A body without Content-Length is counted as it arrives; past the
 * limit the rest is read and dropped (left unread, the socket would be reset
 * before the client has read the 413), until Node's request timeout at most.
 * Read with the request's own events: every tool call over http comes this
 * way, and an Effect stream per body cost more than the reading.
 */
export const readJsonBody = (req: HttpServerRequest.HttpServerRequest, max: number) => {
  const declared = Number(req.headers["content-length"] ?? Number.NaN)
  if (Number.isFinite(declared) && declared > max) return Effect.fail(bodyTooLarge(max))
  const source = NodeHttpServerRequest.toIncomingMessage(req)
  return readAtMost(source, max).pipe(
    Effect.mapError((error) => {
      if (error !== "too large") return jsonRpcError(400, -32700, "Parse error: could not read the request body")
      source.resume()
      return bodyTooLarge(max)
    }),
    Effect.flatMap((bytes) =>
      Effect.try({
        try: (): unknown => JSON.parse(new TextDecoder().decode(bytes)),
        catch: () => jsonRpcError(400, -32700, "Parse error: Invalid JSON")
      })
    )
  )
}

/** The whole of `source`, or "too large" as soon as more than `max` bytes have arrived (then it is left paused). */
const readAtMost = (source: Readable, max: number): Effect.Effect<Uint8Array, "too large" | "unreadable"> =>
  Effect.async((resume) => {
    const chunks: Array<Buffer> = []
    let seen = 0
    const stop = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onUnreadable)
      source.off("close", onUnreadable)
    }
    const onData = (chunk: Buffer) => {
      seen += chunk.length
      if (seen <= max) return void chunks.push(chunk)
      stop()
      source.pause()
      resume(Effect.fail("too large"))
    }
    const onEnd = () => {
      stop()
      resume(Effect.succeed(Buffer.concat(chunks, seen)))
    }
    // An error, or the request closed before its end (the client went away).
    const onUnreadable = () => {
      stop()
      resume(Effect.fail("unreadable"))
    }
    if (source.readableEnded) return resume(Effect.fail("unreadable"))
    source.on("data", onData)
    source.once("end", onEnd)
    source.once("error", onUnreadable)
    source.once("close", onUnreadable)
    return Effect.sync(stop)
  })
