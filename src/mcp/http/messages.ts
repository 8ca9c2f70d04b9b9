/**
 * JSON-RPC over HTTP at the edge: error answers in JSON-RPC form, a POST
 * body read as JSON within the size limit, and answers written to a Node
 * response (`/mcp` is served at the Node level: see `mcpRoute.ts`).
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { HttpServerResponse } from "@effect/platform"
import { Either } from "effect"

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

/** Requests whose Host does not name this server are refused (DNS rebinding), on every route but the health probe. */
export const UNKNOWN_HOST = HttpServerResponse.unsafeJson({ error: "forbidden", error_description: "unknown Host" }, { status: 403 })

const bodyTooLarge = (max: number) => jsonRpcError(413, -32000, `Request body exceeds ${max} bytes`)

/**
 * The request body as JSON, within the size limit; a ready error answer
 * otherwise. A body without Content-Length is counted as it arrives; past the
 * limit the rest is read and dropped (left unread, the socket would be reset
 * before the client has read the 413), until Node's request timeout at most.
 */
export const readJsonBody = async (
  source: IncomingMessage,
  max: number
): Promise<Either.Either<unknown, HttpServerResponse.HttpServerResponse>> => {
  const declared = Number(source.headers["content-length"] ?? Number.NaN)
  if (Number.isFinite(declared) && declared > max) return Either.left(bodyTooLarge(max))
  const bytes = await readAtMost(source, max)
  if (bytes === "too large") {
    source.resume()
    return Either.left(bodyTooLarge(max))
  }
  if (bytes === "unreadable") return Either.left(jsonRpcError(400, -32700, "Parse error: could not read the request body"))
  try {
    return Either.right(JSON.parse(bytes.toString("utf8")) as unknown)
  } catch {
    return Either.left(jsonRpcError(400, -32700, "Parse error: Invalid JSON"))
  }
}

/** The whole of `source`, or "too large" as soon as more than `max` bytes have arrived (then it is left paused). */
const readAtMost = (source: IncomingMessage, max: number): Promise<Buffer | "too large" | "unreadable"> =>
  new Promise((resolve) => {
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
      resolve("too large")
    }
    const onEnd = () => {
      stop()
      resolve(Buffer.concat(chunks, seen))
    }
    // An error, or the request closed before its end (the client went away).
    const onUnreadable = () => {
      stop()
      resolve("unreadable")
    }
    if (source.readableEnded) return resolve("unreadable")
    source.on("data", onData)
    source.once("end", onEnd)
    source.once("error", onUnreadable)
    source.once("close", onUnreadable)
  })

/** Write a ready answer (a JSON or empty body) to the client. */
export const send = (res: ServerResponse, answer: HttpServerResponse.HttpServerResponse): void => {
  if (res.headersSent) return void res.end()
  res.writeHead(answer.status, answer.headers)
  res.end(answer.body._tag === "Uint8Array" ? answer.body.body : undefined)
}

/** Whether the client went away before its answer was complete (watched from the start of the request). */
export interface ClientWatch {
  readonly gone: boolean
}

export const watchClient = (res: ServerResponse): ClientWatch => {
  const watch = { gone: false }
  res.once("close", () => {
    if (!res.writableFinished) watch.gone = true
  })
  return watch
}

/**
 * Write a web `Response` to the client, its body as it comes (`first`, when
 * given, ahead of an event stream's body: it puts the head on the wire at
 * once). True once all of it was handed to the socket; false when the client
 * went away first or the body failed, and then the body is cancelled
 * (whoever produces it hears of it) and the response cut off.
 */
export const deliver = async (response: Response, res: ServerResponse, client: ClientWatch, first?: Uint8Array): Promise<boolean> => {
  const body = response.body
  if (client.gone) {
    await body?.cancel().catch(() => undefined)
    return false
  }
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  res.writeHead(response.status, headers)
  if (body === null) {
    res.end()
    return true
  }
  if (first !== undefined && response.status === 200 && headers["content-type"]?.startsWith("text/event-stream") === true) res.write(first)
  const reader = body.getReader()
  let gone = false
  const onClose = () => {
    gone = true
    reader.cancel().catch(() => undefined)
  }
  res.once("close", onClose)
  try {
    for (;;) {
      const next = await reader.read()
      if (next.done || gone) break
      if (!res.write(next.value)) await drained(res)
    }
  } catch {
    gone = true
  } finally {
    res.off("close", onClose)
  }
  if (gone || client.gone) {
    // The client left, or the body failed: the answer cannot be completed, so it is cut off.
    reader.cancel().catch(() => undefined)
    res.destroy()
    return false
  }
  res.end()
  return true
}

/** Once the socket takes more (or is gone). */
const drained = (res: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    if (res.destroyed || !res.writableNeedDrain) return resolve()
    const done = () => {
      res.off("drain", done)
      res.off("close", done)
      resolve()
    }
    res.once("drain", done)
    res.once("close", done)
  })
