/**
 * The Notes app in the simulated Nextcloud (docs/nextcloud-protocol.md §8,
 * §10): Notes API v1 (`/index.php/apps/notes/api/v1/notes`) as the Notes app
 * answers it — Basic auth (app password or login password), JSON bodies with
 * PHP's escaped slashes, an `ETag` per note and `If-Match` on update (412
 * with the current note on mismatch), chunked listing with
 * `chunkSize`/`chunkCursor` and the `X-Notes-Chunk-Cursor` header, `exclude`
 * and `pruneBefore` — and its hooks to seed and read notes.
 */
import { createHash } from "node:crypto"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { requestAuth } from "../../simulator/auth.js"
import { Empty, hook } from "../../simulator/hooks.js"
import { header, jsonResponse, searchParams } from "../../simulator/http.js"
import type { SimulatorApp } from "../../simulator/SimulatorApp.js"
import { knownUser, now, type SimulatorHookError, type SimState } from "../../simulator/state.js"

export interface SimNote {
  readonly id: number
  title: string
  content: string
  category: string
  favorite: boolean
  readonly: boolean
  /** Unix seconds. */
  modified: number
  etag: string
}

export interface SeedNote {
  readonly userId: string
  readonly title?: string | undefined
  readonly content?: string | undefined
  readonly category?: string | undefined
  readonly favorite?: boolean | undefined
  readonly readonly?: boolean | undefined
  /** Unix seconds; default now. */
  readonly modified?: number | undefined
}

export type NoteInfo = Omit<SimNote, never>

const FIELDS = ["id", "etag", "readonly", "modified", "title", "category", "content", "favorite"] as const

const etagOf = (note: Omit<SimNote, "etag">): string =>
  createHash("md5")
    .update(JSON.stringify([note.id, note.title, note.content, note.category, note.favorite, note.modified]))
    .digest("hex")

/** Every user's notes, by uid then id: one per mounted simulator. */
type NotesStore = Map<string, Map<number, SimNote>>

const userNotes = (store: NotesStore, userId: string): Map<number, SimNote> => {
  let notes = store.get(userId)
  if (notes === undefined) {
    notes = new Map()
    store.set(userId, notes)
  }
  return notes
}

/** The Notes app derives a title from the first line when none is given. */
const titleFrom = (content: string): string => {
  const first = content.split("\n").find((line) => line.trim() !== "") ?? ""
  const cleaned = first.replace(/^#+\s*/, "").replace(/[*_`~]/g, "").trim().slice(0, 100)
  return cleaned === "" ? "New note" : cleaned
}

/** Titles are file names, unique per category: a clash gets " (2)", " (3)"… */
const uniqueTitle = (notes: Map<number, SimNote>, title: string, category: string, self: number | null): string => {
  const taken = (t: string) => [...notes.values()].some((n) => n.id !== self && n.category === category && n.title === t)
  if (!taken(title)) return title
  for (let i = 2; ; i++) if (!taken(`${title} (${i})`)) return `${title} (${i})`
}

const createNote = (state: SimState, store: NotesStore, input: SeedNote, at: number): SimNote => {
  const notes = userNotes(store, input.userId)
  const content = input.content ?? ""
  const category = input.category ?? ""
  const base = {
    id: state.nextId++,
    title: uniqueTitle(notes, input.title !== undefined && input.title.trim() !== "" ? input.title : titleFrom(content), category, null),
    content,
    category,
    favorite: input.favorite ?? false,
    readonly: input.readonly ?? false,
    modified: input.modified ?? Math.floor(at / 1000)
  }
  const note: SimNote = { ...base, etag: etagOf(base) }
  notes.set(note.id, note)
  return note
}

const view = (note: SimNote, exclude: ReadonlySet<string>, pruned: boolean): Record<string, unknown> => {
  if (pruned) return { id: note.id }
  const out: Record<string, unknown> = {}
  for (const field of FIELDS) if (field === "id" || !exclude.has(field)) out[field] = note[field]
  return out
}

const message = (status: number, text: string) => jsonResponse({ message: text }, status)

const unquote = (value: string): string => value.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1")

type Handler = (
  userId: string,
  request: HttpServerRequest.HttpServerRequest,
  id: number | null
) => Effect.Effect<HttpServerResponse.HttpServerResponse>

/** Nextcloud's checks before a Notes API controller runs. */
const notesRoute = (state: SimState, handler: Handler, withId: boolean) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const auth = yield* requestAuth(state, request)
    if (auth._tag === "Throttled") return message(429, "Reached maximum delay")
    if (auth._tag === "Failed" || auth._tag === "Anonymous") {
      return HttpServerResponse.setHeader(message(401, "Current user is not logged in"), "WWW-Authenticate", 'Basic realm="Authorisation Required"')
    }
    let id: number | null = null
    if (withId) {
      const params = yield* HttpRouter.params
      const raw = params["id"] ?? ""
      if (!/^\d{1,15}$/.test(raw)) return message(404, "Note not found")
      id = Number(raw)
    }
    return yield* handler(auth.user.userId, request, id)
  })

const readJson = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    if (text.trim() === "") return {} as Record<string, unknown>
    const parsed = yield* Effect.try(() => JSON.parse(text) as unknown).pipe(Effect.orElseSucceed(() => null))
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null
  })

const withEtag = (response: HttpServerResponse.HttpServerResponse, etag: string) =>
  HttpServerResponse.setHeader(response, "ETag", `"${etag}"`)

const sorted = (notes: Iterable<SimNote>): Array<SimNote> =>
  [...notes].sort((a, b) => b.modified - a.modified || b.id - a.id)

const list = (state: SimState, store: NotesStore): Handler => (userId, request) =>
  Effect.sync(() => {
    const params = searchParams(request)
    const exclude = new Set((params.get("exclude") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""))
    const pruneRaw = params.get("pruneBefore")
    const pruneBefore = pruneRaw !== null && /^\d+$/.test(pruneRaw) ? Number(pruneRaw) : null
    const category = params.get("category")
    const chunkRaw = params.get("chunkSize")
    const chunkSize = chunkRaw !== null && /^\d+$/.test(chunkRaw) ? Number(chunkRaw) : 0
    const cursor = params.get("chunkCursor")
    let notes = sorted(userNotes(store, userId).values()).filter((n) => category === null || n.category === category)
    if (cursor !== null && cursor !== "") {
      const m = /^(\d+)-(\d+)$/.exec(cursor)
      if (m === null) return message(400, "Invalid chunk cursor")
      const modified = Number(m[1])
      const id = Number(m[2])
      notes = notes.filter((n) => n.modified < modified || (n.modified === modified && n.id < id))
    }
    const page = chunkSize > 0 ? notes.slice(0, chunkSize) : notes
    const last = page[page.length - 1]
    const listEtag = createHash("md5").update(notes.map((n) => n.etag).join(",") + `|${[...exclude].join(",")}|${pruneBefore}|${chunkSize}`).digest("hex")
    const ifNoneMatch = header(request, "if-none-match")
    if (ifNoneMatch !== undefined && unquote(ifNoneMatch) === listEtag) return HttpServerResponse.empty({ status: 304 })
    let response = withEtag(
      jsonResponse(page.map((n) => view(n, exclude, pruneBefore !== null && n.modified < pruneBefore))),
      listEtag
    )
    if (page.length < notes.length && last !== undefined) {
      response = HttpServerResponse.setHeaders(response, {
        "X-Notes-Chunk-Cursor": `${last.modified}-${last.id}`,
        "X-Notes-Chunk-Pending": String(notes.length - page.length)
      })
    }
    return response
  })

const get = (state: SimState, store: NotesStore): Handler => (userId, request, id) =>
  Effect.sync(() => {
    const note = id === null ? undefined : userNotes(store, userId).get(id)
    if (note === undefined) return message(404, "Note not found")
    const ifNoneMatch = header(request, "if-none-match")
    if (ifNoneMatch !== undefined && unquote(ifNoneMatch) === note.etag) return HttpServerResponse.empty({ status: 304 })
    const exclude = new Set((searchParams(request).get("exclude") ?? "").split(","))
    return withEtag(jsonResponse(view(note, exclude, false)), note.etag)
  })

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

const create = (state: SimState, store: NotesStore): Handler => (userId, request) =>
  Effect.gen(function* () {
    const body = yield* readJson(request)
    if (body === null) return message(400, "Invalid JSON")
    const at = yield* now(state)
    const modified = body["modified"]
    const note = createNote(
      state,
      store,
      {
        userId,
        title: str(body["title"]),
        content: str(body["content"]),
        category: str(body["category"]),
        favorite: body["favorite"] === true,
        modified: typeof modified === "number" && modified > 0 ? Math.floor(modified) : undefined
      },
      at
    )
    return withEtag(jsonResponse(view(note, new Set(), false)), note.etag)
  })

const update = (state: SimState, store: NotesStore): Handler => (userId, request, id) =>
  Effect.gen(function* () {
    const note = id === null ? undefined : userNotes(store, userId).get(id)
    if (note === undefined) return message(404, "Note not found")
    const ifMatch = header(request, "if-match")
    if (ifMatch !== undefined && ifMatch.trim() !== "*" && !ifMatch.split(",").map(unquote).includes(note.etag)) {
      return withEtag(jsonResponse(view(note, new Set(), false), 412), note.etag)
    }
    if (note.readonly) return message(403, "The note is read-only")
    const body = yield* readJson(request)
    if (body === null) return message(400, "Invalid JSON")
    const at = yield* now(state)
    const notes = userNotes(store, userId)
    const content = str(body["content"])
    const category = str(body["category"])
    const title = str(body["title"])
    if (content !== undefined) note.content = content
    if (category !== undefined) note.category = category
    if (title !== undefined || category !== undefined) {
      note.title = uniqueTitle(notes, title !== undefined && title.trim() !== "" ? title : note.title, note.category, note.id)
    }
    if (typeof body["favorite"] === "boolean") note.favorite = body["favorite"]
    const modified = body["modified"]
    note.modified = typeof modified === "number" && modified > 0 ? Math.floor(modified) : Math.floor(at / 1000)
    note.etag = etagOf(note)
    return withEtag(jsonResponse(view(note, new Set(), false)), note.etag)
  })

const remove = (state: SimState, store: NotesStore): Handler => (userId, _request, id) =>
  Effect.sync(() => {
    const notes = userNotes(store, userId)
    const note = id === null ? undefined : notes.get(id)
    if (note === undefined) return message(404, "Note not found")
    if (note.readonly) return message(403, "The note is read-only")
    notes.delete(note.id)
    return jsonResponse([])
  })

const NOTES_PATH = "/apps/notes/api/v1/notes"

const notesRoutes = (state: SimState, store: NotesStore): HttpRouter.HttpRouter => {
  let router = HttpRouter.empty
  for (const prefix of ["/index.php", ""]) {
    const base = `${prefix}${NOTES_PATH}` as const
    router = router.pipe(
      HttpRouter.get(base as `/${string}`, notesRoute(state, list(state, store), false)),
      HttpRouter.post(base as `/${string}`, notesRoute(state, create(state, store), false)),
      HttpRouter.get(`${base}/:id` as `/${string}`, notesRoute(state, get(state, store), true)),
      HttpRouter.put(`${base}/:id` as `/${string}`, notesRoute(state, update(state, store), true)),
      HttpRouter.del(`${base}/:id` as `/${string}`, notesRoute(state, remove(state, store), true))
    )
  }
  return router
}

const ROUTE_KEYS = ["notes.list", "notes.get", "notes.create", "notes.update", "notes.delete", "notes.other"] as const

const routeKey = (method: string, path: string) => {
  if (path === NOTES_PATH) return method === "GET" ? "notes.list" : method === "POST" ? "notes.create" : "notes.other"
  if (path.startsWith(`${NOTES_PATH}/`)) {
    return method === "GET" ? "notes.get" : method === "PUT" ? "notes.update" : method === "DELETE" ? "notes.delete" : "notes.other"
  }
  return undefined
}

// ---------------------------------------------------------------------------
// Hooks

export interface NotesControl {
  /** Create a note for a user directly (as if written in the Notes app). */
  readonly seedNote: (input: SeedNote) => Effect.Effect<NoteInfo, SimulatorHookError>
  /** A user's notes, most recently changed first. */
  readonly listNotes: (userId: string) => Effect.Effect<ReadonlyArray<NoteInfo>, SimulatorHookError>
}

const makeNotesControl = (state: SimState, store: NotesStore): NotesControl => ({
  seedNote: Effect.fn("Simulator.seedNote")(function* (input: SeedNote) {
    yield* knownUser(state, input.userId)
    const at = yield* now(state)
    return { ...createNote(state, store, input, at) }
  }),
  listNotes: Effect.fn("Simulator.listNotes")(function* (userId: string) {
    yield* knownUser(state, userId)
    return sorted(userNotes(store, userId).values()).map((n) => ({ ...n }))
  })
})

const NoteBody = Schema.Struct({
  userId: Schema.String,
  title: Schema.optional(Schema.String),
  content: Schema.optional(Schema.String),
  category: Schema.optional(Schema.String),
  favorite: Schema.optional(Schema.Boolean),
  readonly: Schema.optional(Schema.Boolean),
  modified: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.nonNegative()))
})

const hookRoutes = (control: NotesControl): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/__sim/users/:userId/notes", hook(Empty, (_, params) => control.listNotes(params["userId"] ?? ""))),
    HttpRouter.post("/__sim/notes", hook(NoteBody, (input) => control.seedNote(input), 201))
  )

export const notesSimulator: SimulatorApp<NotesControl> = {
  nextcloudApp: { id: "notes", name: "Notes", capabilities: { api_version: ["0.2", "1.3"], version: "4.11.0" } },
  routeKeys: ROUTE_KEYS,
  routeKey,
  hookEndpoints: [
    "GET    /__sim/users/{userId}/notes             a user's notes (Notes API)",
    "POST   /__sim/notes                            {userId, title?, content?, category?, favorite?, readonly?, modified?}"
  ],
  mount: (state) => {
    const store: NotesStore = new Map()
    const control = makeNotesControl(state, store)
    return { routes: notesRoutes(state, store), hooks: hookRoutes(control), control }
  },
  remote: (call) => ({
    seedNote: (input) => call("POST", "/notes", input),
    listNotes: (userId) => call("GET", `/users/${encodeURIComponent(userId)}/notes`)
  })
}
