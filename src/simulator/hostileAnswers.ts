/**
 * Answers of a Nextcloud that misbehaves on purpose (see the `HugeBody` and
 * `EndlessChunks` faults): bodies far too large, and a Notes list that never
 * ends. Both are made up as they are sent, so the simulator holds nothing.
 */
import { type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Option, Stream } from "effect"
import { jsonResponse, searchParams } from "./http.js"

const HUGE_CHUNK_BYTES = 64 * 1024
const HUGE_FILLER: Record<"json" | "xml", { readonly head: string; readonly item: string; readonly type: string }> = {
  json: { head: "[", item: '{"id":1,"title":"x","content":"0123456789abcdef"},', type: "application/json; charset=utf-8" },
  xml: {
    head: '<?xml version="1.0" encoding="utf-8"?><d:multistatus xmlns:d="DAV:">',
    item: "<d:response><d:href>/x</d:href></d:response>",
    type: "application/xml; charset=utf-8"
  }
}

/** One filler chunk per content type, shared by every answer: chunks are only ever read. */
const fillerChunk = (item: string): Uint8Array => Buffer.from(item.repeat(Math.ceil(HUGE_CHUNK_BYTES / item.length)))
const FILLER_CHUNKS = { json: fillerChunk(HUGE_FILLER.json.item), xml: fillerChunk(HUGE_FILLER.xml.item) }

/** `bytes` bytes of a JSON array or a multistatus that never ends, generated chunk by chunk as they are sent. */
export const hugeBody = (bytes: number, contentType: "json" | "xml", announce: boolean): HttpServerResponse.HttpServerResponse => {
  const head = Buffer.from(HUGE_FILLER[contentType].head).subarray(0, bytes)
  const filler = FILLER_CHUNKS[contentType]
  const body = Stream.make(head).pipe(
    Stream.concat(
      Stream.unfold(bytes - head.byteLength, (left) =>
        left <= 0 ? Option.none() : Option.some([filler.subarray(0, Math.min(left, filler.byteLength)), left - filler.byteLength] as const)
      )
    )
  )
  return HttpServerResponse.stream(body, {
    contentType: HUGE_FILLER[contentType].type,
    ...(announce ? { contentLength: bytes } : {})
  })
}

/** One chunk of the endless notes list, numbered on from `first`. */
export const endlessChunk = (request: HttpServerRequest.HttpServerRequest, first: number, sameCursor: boolean) => {
  const requested = Number(searchParams(request).get("chunkSize") ?? "")
  const size = Number.isInteger(requested) && requested > 0 ? Math.min(requested, 1000) : 100
  const notes = Array.from({ length: size }, (_, i) => {
    const id = first + i
    const text = { title: `Endless note ${id}`, content: `Note ${id} of a list that never ends`, category: "" }
    return { id, etag: `endless${id}`, readonly: false, modified: 1_700_000_000, favorite: false, ...text }
  })
  const cursor = sameCursor ? "1700000000-0" : `1700000000-${first + size}`
  return { size, response: HttpServerResponse.setHeader(jsonResponse(notes), "X-Notes-Chunk-Cursor", cursor) }
}
