/**
 * Nextcloud Notes API v1 (`/index.php/apps/notes/api/v1/notes`), called with
 * the user's app password as Basic auth (login name).
 *
 * Reads are retried on a refused connection or a 5xx (see call.ts); writes
 * are not (a lost answer to a PUT would make the retry fail its own
 * `If-Match`). A 401 is never retried: it means the app password no longer
 * works.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Context, Effect, Layer, Schema } from "effect"
import { makeCaller } from "../../nextcloud/call.js"
import { decodeJsonBody, type NextcloudResponse, underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../nextcloud/Ocs.js"
import { type DataCallError, type NextcloudProtocolError, expectStatus } from "../../nextcloud/errors.js"

const Int = Schema.Number.pipe(Schema.int())

/** A note as the API returns it (fields this product uses). */
export const Note = Schema.Struct({
  id: Int,
  etag: Schema.String,
  readonly: Schema.Boolean,
  /** Unix seconds. */
  modified: Schema.Number,
  title: Schema.String,
  category: Schema.String,
  content: Schema.String,
  favorite: Schema.Boolean
})
export type Note = typeof Note.Type

/** A list entry: fields left out with `exclude`, or everything but `id` for notes pruned by `pruneBefore`. */
export const NoteSummary = Schema.Struct({
  id: Int,
  etag: Schema.optional(Schema.String),
  readonly: Schema.optional(Schema.Boolean),
  modified: Schema.optional(Schema.Number),
  title: Schema.optional(Schema.String),
  category: Schema.optional(Schema.String),
  content: Schema.optional(Schema.String),
  favorite: Schema.optional(Schema.Boolean)
})
export type NoteSummary = typeof NoteSummary.Type

export const NOTE_FIELDS = ["etag", "readonly", "modified", "title", "category", "content", "favorite"] as const
export type NoteField = (typeof NOTE_FIELDS)[number]

export interface ListNotesOptions {
  readonly category?: string
  /** Fields to leave out of every note (`id` is always there). */
  readonly exclude?: ReadonlyArray<NoteField>
  /** Unix seconds: notes not changed since then come back with `id` only. */
  readonly pruneBefore?: number
  /** At most this many notes per answer; the rest via `cursor`. */
  readonly chunkSize?: number
  readonly chunkCursor?: string
}

export interface NotesPage {
  readonly notes: ReadonlyArray<NoteSummary>
  /** `X-Notes-Chunk-Cursor`: set when more notes follow. */
  readonly cursor: string | null
}

export interface NoteInput {
  readonly title?: string | undefined
  readonly content?: string | undefined
  readonly category?: string | undefined
  readonly favorite?: boolean | undefined
}

export interface NotesShape {
  readonly list: (credentials: Credentials, options?: ListNotesOptions) => Effect.Effect<NotesPage, DataCallError>
  readonly get: (credentials: Credentials, id: number) => Effect.Effect<Note, DataCallError>
  readonly create: (credentials: Credentials, input: NoteInput) => Effect.Effect<Note, DataCallError>
  /** With `ifMatch` (the note's etag), a concurrent change fails with `NextcloudPreconditionFailed`. */
  readonly update: (
    credentials: Credentials,
    id: number,
    input: NoteInput,
    ifMatch?: string
  ) => Effect.Effect<Note, DataCallError>
  readonly delete: (credentials: Credentials, id: number) => Effect.Effect<void, DataCallError>
}

export class Notes extends Context.Tag("nextcloud-mcp/Notes")<Notes, NotesShape>() {}

const NOTES_PATH = "index.php/apps/notes/api/v1/notes"

const bodyOf = (input: NoteInput): Record<string, unknown> => {
  const body: Record<string, unknown> = {}
  if (input.title !== undefined) body["title"] = input.title
  if (input.content !== undefined) body["content"] = input.content
  if (input.category !== undefined) body["category"] = input.category
  if (input.favorite !== undefined) body["favorite"] = input.favorite
  return body
}

export const NotesLive: Layer.Layer<Notes, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  Notes,
  Effect.gen(function* () {
    const config = yield* NextcloudConfig
    const nc = makeCaller(yield* HttpClient.HttpClient, config)

    const send = (
      operation: string,
      request: HttpClientRequest.HttpClientRequest,
      credentials: Credentials,
      expected: ReadonlyArray<number>
    ) =>
      nc.json(operation, request, credentials).pipe(Effect.flatMap(expectStatus(operation, expected, { app: "Notes" })))

    const noteUrl = (id: number) => underBase(config.host, `${NOTES_PATH}/${id}`)
    const decodeNote = (operation: string) => (response: NextcloudResponse): Effect.Effect<Note, NextcloudProtocolError> =>
      decodeJsonBody(Note, operation)(response)

    const list = Effect.fn("Notes.list")(function* (credentials: Credentials, options: ListNotesOptions = {}) {
      const operation = "Notes.list"
      const params: Record<string, string> = {}
      if (options.category !== undefined) params["category"] = options.category
      if (options.exclude !== undefined && options.exclude.length > 0) params["exclude"] = options.exclude.join(",")
      if (options.pruneBefore !== undefined) params["pruneBefore"] = String(Math.floor(options.pruneBefore))
      if (options.chunkSize !== undefined) params["chunkSize"] = String(options.chunkSize)
      if (options.chunkCursor !== undefined) params["chunkCursor"] = options.chunkCursor
      const request = HttpClientRequest.get(underBase(config.host, NOTES_PATH)).pipe(HttpClientRequest.setUrlParams(params))
      const response = yield* send(operation, request, credentials, [200])
      const notes = yield* decodeJsonBody(Schema.Array(NoteSummary), operation)(response)
      const cursor = response.headers["x-notes-chunk-cursor"]
      return { notes, cursor: cursor === undefined || cursor === "" ? null : cursor } satisfies NotesPage
    })

    const get = Effect.fn("Notes.get")(function* (credentials: Credentials, id: number) {
      const operation = "Notes.get"
      const response = yield* send(operation, HttpClientRequest.get(noteUrl(id)), credentials, [200])
      return yield* decodeNote(operation)(response)
    })

    const create = Effect.fn("Notes.create")(function* (credentials: Credentials, input: NoteInput) {
      const operation = "Notes.create"
      const request = HttpClientRequest.post(underBase(config.host, NOTES_PATH)).pipe(
        HttpClientRequest.bodyUnsafeJson(bodyOf(input))
      )
      const response = yield* send(operation, request, credentials, [200, 201])
      return yield* decodeNote(operation)(response)
    })

    const update = Effect.fn("Notes.update")(function* (
      credentials: Credentials,
      id: number,
      input: NoteInput,
      ifMatch?: string
    ) {
      const operation = "Notes.update"
      const base = HttpClientRequest.put(noteUrl(id)).pipe(HttpClientRequest.bodyUnsafeJson(bodyOf(input)))
      const request = ifMatch === undefined ? base : HttpClientRequest.setHeader(base, "if-match", `"${ifMatch}"`)
      const response = yield* send(operation, request, credentials, [200])
      return yield* decodeNote(operation)(response)
    })

    const remove = Effect.fn("Notes.delete")(function* (credentials: Credentials, id: number) {
      const operation = "Notes.delete"
      yield* send(operation, HttpClientRequest.del(noteUrl(id)), credentials, [200, 204])
    })

    return Notes.of({ list, get, create, update, delete: remove })
  })
)
