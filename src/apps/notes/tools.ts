/**
 * Notes tools (Nextcloud Notes API v1): list, get, search, create, update,
 * delete. Reads need `notes.read`, writes `notes.write`; every call uses the
 * caller's app password.
 */
import { Clock, Duration, Effect, Schema } from "effect"
import { Conflict, InvalidArguments, NotFound, PermissionDenied } from "../../domain/Errors.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import { credentialsOf } from "../../tools/account.js"
import { whileTrying } from "../../tools/nextcloudFailures.js"
import * as Tool from "../../tools/Tool.js"
import { type Note, type NoteInput, Notes, type NotesPage, type NoteSummary } from "./Client.js"

const NoteId = Schema.Number.pipe(Schema.int(), Schema.between(0, Number.MAX_SAFE_INTEGER)).annotations({
  description: "The note's id (from nc_notes_list or nc_notes_search)"
})
const Category = Schema.String.pipe(Schema.maxLength(1000))
const Title = Schema.String.pipe(Schema.maxLength(1000))
/** Notes are plain text (Markdown); keep one call's payload sensible. */
const MAX_CONTENT_CHARS = 1_000_000
const Content = Schema.String.pipe(Schema.maxLength(MAX_CONTENT_CHARS))

const NoteOutput = Schema.Struct({
  id: Schema.Number,
  title: Schema.optional(Schema.String),
  category: Schema.optional(Schema.String),
  favorite: Schema.optional(Schema.Boolean),
  readonly: Schema.optional(Schema.Boolean),
  modified: Schema.optional(Schema.String.annotations({ description: "ISO 8601" })),
  etag: Schema.optional(Schema.String.annotations({ description: "Pass to nc_notes_update to avoid overwriting a newer edit" })),
  content: Schema.optional(Schema.String),
  snippet: Schema.optional(Schema.String.annotations({ description: "Search: text around the first match" }))
})
type NoteOutput = typeof NoteOutput.Type

/** Notes read per request while searching. */
const SEARCH_CHUNK = 100
/**
 * Chunks one search reads at most: 10,000 notes, far more than a personal
 * collection holds, in 100 requests. It bounds the work one call can cost
 * Nextcloud and this server, whatever the Notes app answers (one that never
 * stops handing out cursors would otherwise be read forever).
 */
const SEARCH_MAX_CHUNKS = 100

const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString()

const noteOutput = (note: NoteSummary | Note, withContent: boolean): NoteOutput => ({
  id: note.id,
  ...(note.title !== undefined ? { title: note.title } : {}),
  ...(note.category !== undefined ? { category: note.category } : {}),
  ...(note.favorite !== undefined ? { favorite: note.favorite } : {}),
  ...(note.readonly !== undefined ? { readonly: note.readonly } : {}),
  ...(note.modified !== undefined ? { modified: iso(note.modified) } : {}),
  ...(note.etag !== undefined ? { etag: note.etag } : {}),
  ...(withContent && note.content !== undefined ? { content: note.content } : {})
})

const noteNotFound = (id: number) =>
  new NotFound({ message: `There is no note with id ${id} (it may have been deleted). nc_notes_list shows the existing ones.` })

// ---------------------------------------------------------------------------

export const ListNotesInput = Schema.Struct({
  category: Schema.optional(Category.annotations({ description: "Only notes in this category (exact match)" })),
  include_content: Schema.optional(
    Schema.Boolean.annotations({ description: "Include each note's full text (default false: titles and metadata only)" })
  ),
  limit: Schema.optional(
    Schema.Number.pipe(Schema.int(), Schema.between(1, 500)).annotations({ description: "Notes per page, 1–500 (default 100)" })
  ),
  cursor: Schema.optional(
    Schema.String.pipe(Schema.maxLength(1000)).annotations({ description: "next_cursor of the previous page" })
  )
})

export const ListNotesOutput = Tool.response(["ok", "error"], {
  notes: Schema.optional(Schema.Array(NoteOutput)),
  count: Schema.optional(Schema.Number),
  next_cursor: Schema.optional(Schema.NullOr(Schema.String))
})

export const listNotes = Tool.make({
  name: "nc_notes_list",
  title: "List Notes",
  description:
    "List your Nextcloud notes (most recently changed first): id, title, category, favorite, modified, etag. " +
    "Content only with include_content. Filter by category; page with limit and next_cursor.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["notes.read"],
  input: ListNotesInput,
  output: ListNotesOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const notes = yield* Notes
      const withContent = input.include_content ?? false
      const page = yield* notes
        .list(credentialsOf(grant), {
          ...(input.category !== undefined ? { category: input.category } : {}),
          ...(withContent ? {} : { exclude: ["content"] }),
          chunkSize: input.limit ?? 100,
          ...(input.cursor !== undefined ? { chunkCursor: input.cursor } : {})
        })
        .pipe(whileTrying("list your notes"))
      const more = page.cursor === null ? "" : " More notes follow: pass next_cursor as cursor."
      return {
        status: "ok",
        message: `${page.notes.length} note(s)${input.category !== undefined ? ` in category "${input.category}"` : ""}.${more}`,
        notes: page.notes.map((n) => noteOutput(n, withContent)),
        count: page.notes.length,
        next_cursor: page.cursor
      } as const
    })
})

// ---------------------------------------------------------------------------

export const GetNoteInput = Schema.Struct({ id: NoteId })

export const GetNoteOutput = Tool.response(["ok", "error"], { note: Schema.optional(NoteOutput) })

export const getNote = Tool.make({
  name: "nc_notes_get",
  title: "Get Note",
  description: "Read one note with its full text and its etag (needed by nc_notes_update).",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["notes.read"],
  input: GetNoteInput,
  output: GetNoteOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const notes = yield* Notes
      const note = yield* notes.get(credentialsOf(grant), input.id).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(noteNotFound(input.id))),
        whileTrying(`read note ${input.id}`)
      )
      return {
        status: "ok",
        message: `Note ${note.id}: "${note.title}"${note.category !== "" ? ` (category ${note.category})` : ""}.`,
        note: noteOutput(note, true)
      } as const
    })
})

// ---------------------------------------------------------------------------

const SNIPPET_RADIUS = 60

const snippetOf = (text: string, at: number, length: number): string => {
  const start = Math.max(0, at - SNIPPET_RADIUS)
  const end = Math.min(text.length, at + length + SNIPPET_RADIUS)
  return `${start > 0 ? "…" : ""}${text.slice(start, end).replace(/\s+/g, " ")}${end < text.length ? "…" : ""}`
}

export const SearchNotesInput = Schema.Struct({
  query: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
    description: "Text to find in titles and contents (case-insensitive)"
  }),
  category: Schema.optional(Category.annotations({ description: "Only search this category" })),
  include_content: Schema.optional(Schema.Boolean.annotations({ description: "Include each match's full text (default false)" })),
  limit: Schema.optional(
    Schema.Number.pipe(Schema.int(), Schema.between(1, 100)).annotations({ description: "At most this many results, 1–100 (default 20)" })
  )
})

export const SearchNotesOutput = Tool.response(["ok", "error"], {
  notes: Schema.optional(Schema.Array(NoteOutput)),
  count: Schema.optional(Schema.Number),
  total_matches: Schema.optional(Schema.Number),
  notes_searched: Schema.optional(Schema.Number.annotations({ description: "How many notes were read" })),
  stopped_early: Schema.optional(
    Schema.Boolean.annotations({ description: "The search hit its page or time limit before reading every note" })
  )
})

/** Why a search ended before the Notes API said "no more". */
type StopReason = "pages" | "time" | "repeated cursor"

const stopExplanation: Record<StopReason, string> = {
  pages: `it reads at most ${SEARCH_MAX_CHUNKS * SEARCH_CHUNK} notes`,
  time: "it ran out of time",
  "repeated cursor": "Nextcloud offered the same page again"
}

export const searchNotes = Tool.make({
  name: "nc_notes_search",
  title: "Search Notes",
  description:
    "Find notes whose title or text contains the query (case-insensitive), most recently changed first, with a snippet around the match. " +
    "Title matches rank first.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["notes.read"],
  input: SearchNotesInput,
  output: SearchNotesOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const notes = yield* Notes
      const { requestTimeout } = yield* NextcloudConfig
      // The Notes API has no text search: read the (category-filtered) notes a
      // chunk at a time and match here, keeping only the matches (without
      // their text unless it was asked for), so memory is bounded by one chunk.
      const needle = input.query.toLocaleLowerCase()
      const withContent = input.include_content ?? false
      const matches: Array<{ readonly rank: number; readonly note: NoteSummary; readonly snippet: string }> = []
      // A broken Notes app may hand out the same notes again under a new cursor.
      const seen = new Set<number>()
      const cursors = new Set<string>()
      // No new chunk is asked for once the search has taken as long as one
      // Nextcloud call may (NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS, the wait the
      // operator chose): the answer comes within about twice that at worst.
      const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(requestTimeout)
      let cursor: string | undefined
      let chunks = 0
      let stopped: StopReason | null = null
      for (;;) {
        const page: NotesPage = yield* notes
          .list(credentialsOf(grant), {
            ...(input.category !== undefined ? { category: input.category } : {}),
            chunkSize: SEARCH_CHUNK,
            ...(cursor !== undefined ? { chunkCursor: cursor } : {})
          })
          .pipe(whileTrying("search your notes"))
        chunks++
        for (const note of page.notes) {
          if (seen.has(note.id)) continue
          seen.add(note.id)
          const title = note.title ?? ""
          const content = note.content ?? ""
          const inTitle = title.toLocaleLowerCase().indexOf(needle)
          const inContent = content.toLocaleLowerCase().indexOf(needle)
          if (inTitle < 0 && inContent < 0) continue
          const { content: _text, ...withoutText } = note
          matches.push({
            rank: inTitle >= 0 ? 0 : 1,
            note: withContent ? note : withoutText,
            snippet: inContent >= 0 ? snippetOf(content, inContent, needle.length) : snippetOf(content, 0, 0)
          })
        }
        if (page.cursor === null) break
        stopped = cursors.has(page.cursor)
          ? "repeated cursor"
          : chunks >= SEARCH_MAX_CHUNKS
            ? "pages"
            : (yield* Clock.currentTimeMillis) >= deadline
              ? "time"
              : null
        if (stopped !== null) break
        cursors.add(page.cursor)
        cursor = page.cursor
      }
      matches.sort((a, b) => a.rank - b.rank || (b.note.modified ?? 0) - (a.note.modified ?? 0))
      const limited = matches.slice(0, input.limit ?? 20)
      const found =
        matches.length === 0
          ? `No note${stopped === null ? "" : " searched"} contains "${input.query}".`
          : `${matches.length} note(s) contain "${input.query}"${limited.length < matches.length ? `; showing ${limited.length}` : ""}.`
      const early =
        stopped === null
          ? ""
          : ` The search stopped early after searching ${seen.size} notes (${stopExplanation[stopped]}), so there may be more matches; narrow it with category.`
      return {
        status: "ok",
        message: found + early,
        notes: limited.map((m) => ({ ...noteOutput(m.note, withContent), snippet: m.snippet })),
        count: limited.length,
        total_matches: matches.length,
        notes_searched: seen.size,
        stopped_early: stopped !== null
      } as const
    })
})

// ---------------------------------------------------------------------------

export const CreateNoteInput = Schema.Struct({
  title: Schema.optional(Title.annotations({ description: "Title (default: the first line of the content)" })),
  content: Schema.optional(Content.annotations({ description: "The note's text (Markdown)" })),
  category: Schema.optional(Category.annotations({ description: "Category (a folder in Notes; '/' nests)" })),
  favorite: Schema.optional(Schema.Boolean)
})

export const CreateNoteOutput = Tool.response(["created", "error"], { note: Schema.optional(NoteOutput) })

export const createNote = Tool.make({
  name: "nc_notes_create",
  title: "Create Note",
  description: "Create a note. Returns its id and etag.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  scopes: ["notes.write"],
  input: CreateNoteInput,
  output: CreateNoteOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      if (input.title === undefined && input.content === undefined) {
        return yield* new InvalidArguments({ message: "Give a title or some content for the new note." })
      }
      const notes = yield* Notes
      const note = yield* notes.create(credentialsOf(grant), input satisfies NoteInput).pipe(
        Effect.catchTag("NextcloudForbidden", () =>
          Effect.fail(new PermissionDenied({ message: "Nextcloud does not allow you to create notes (is the Notes app enabled for you?)." }))
        ),
        whileTrying("create the note")
      )
      return {
        status: "created",
        message: `Created note ${note.id}: "${note.title}".`,
        note: noteOutput(note, false)
      } as const
    })
})

// ---------------------------------------------------------------------------

export const UpdateNoteInput = Schema.Struct({
  id: NoteId,
  etag: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
    description: "The etag you last read (nc_notes_get / nc_notes_list); the update is refused if the note changed since"
  }),
  title: Schema.optional(Title),
  content: Schema.optional(Content.annotations({ description: "The new full text (replaces the old)" })),
  category: Schema.optional(Category),
  favorite: Schema.optional(Schema.Boolean)
})

export const UpdateNoteOutput = Tool.response(["updated", "error"], { note: Schema.optional(NoteOutput) })

export const updateNote = Tool.make({
  name: "nc_notes_update",
  title: "Update Note",
  description:
    "Change a note's title, content, category or favorite flag. Requires the etag you last read: " +
    "if someone edited the note since, nothing is changed and a Conflict is returned (read it again and re-apply).",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  scopes: ["notes.write"],
  input: UpdateNoteInput,
  output: UpdateNoteOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const { id, etag, ...changes } = input
      if (Object.keys(changes).length === 0) {
        return yield* new InvalidArguments({ message: "Nothing to change: give title, content, category and/or favorite." })
      }
      const notes = yield* Notes
      const note = yield* notes.update(credentialsOf(grant), id, changes, etag).pipe(
        Effect.catchTags({
          NextcloudNotFound: () => Effect.fail(noteNotFound(id)),
          NextcloudPreconditionFailed: () =>
            Effect.fail(
              new Conflict({
                message: `Note ${id} was changed since you read it (your etag ${etag} is out of date), so nothing was overwritten. Read it again with nc_notes_get and re-apply your change.`
              })
            ),
          NextcloudForbidden: () => Effect.fail(new PermissionDenied({ message: `Note ${id} is read-only for you.` }))
        }),
        whileTrying(`update note ${id}`)
      )
      return {
        status: "updated",
        message: `Updated note ${note.id}: "${note.title}". Its new etag is ${note.etag}.`,
        note: noteOutput(note, false)
      } as const
    })
})

// ---------------------------------------------------------------------------

export const DeleteNoteInput = Schema.Struct({ id: NoteId })

export const DeleteNoteOutput = Tool.response(["deleted", "error"], { id: Schema.optional(Schema.Number) })

export const deleteNote = Tool.make({
  name: "nc_notes_delete",
  title: "Delete Note",
  description: "Delete a note.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["notes.write"],
  input: DeleteNoteInput,
  output: DeleteNoteOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const notes = yield* Notes
      yield* notes.delete(credentialsOf(grant), input.id).pipe(
        Effect.catchTags({
          NextcloudNotFound: () => Effect.fail(noteNotFound(input.id)),
          NextcloudForbidden: () => Effect.fail(new PermissionDenied({ message: `Note ${input.id} is read-only for you.` }))
        }),
        whileTrying(`delete note ${input.id}`)
      )
      return { status: "deleted", message: `Deleted note ${input.id}.`, id: input.id } as const
    })
})

export const notesTools = [listNotes, getNote, searchNotes, createNote, updateNote, deleteNote] as const
