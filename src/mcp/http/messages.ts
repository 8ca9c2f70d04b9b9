/**
 * JSON-RPC over HTTP at the edge: error answers in JSON-RPC form, and a POST
 * body read as JSON within the size limit.
 */
import { type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Data, Effect, identity } from "effect"
import { collectAtMost } from "../../domain/boundedBody.js"

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

class BodyTooLarge extends Data.TaggedError("BodyTooLarge") {}

/**
 * The request body as JSON, within the size limit; a ready error response
 * otherwise. A body without Content-Length is counted as it arrives; past the
 * limit the rest is read and dropped (left unread, the socket would be reset
 * before the client has read the 413), until Node's request timeout at most.
 */
export const readJsonBody = (req: HttpServerRequest.HttpServerRequest, max: number) => {
  const declared = Number(req.headers["content-length"] ?? Number.NaN)
  if (Number.isFinite(declared) && declared > max) return Effect.fail(bodyTooLarge(max))
  const source = NodeHttpServerRequest.toIncomingMessage(req)
  return NodeStream.fromReadable<unknown, Uint8Array>(() => source, identity, { closeOnDone: false }).pipe(
    collectAtMost(max, () => new BodyTooLarge()),
    Effect.mapError((error) => {
      if (!(error instanceof BodyTooLarge)) return jsonRpcError(400, -32700, "Parse error: could not read the request body")
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
