/**
 * Deck in the simulated Nextcloud (docs/nextcloud-protocol.md, "Deck" and §10): the
 * REST API v1.0/v1.1 below `/apps/deck/api/`, with and without `/index.php`,
 * and the OCS comments route, as Deck answers them:
 *
 * - errors are `{"status": <code>, "message": …}` with that HTTP status;
 *   anything missing or not the user's is 403 "Permission denied" (Deck does
 *   not say which), a validation failure 400, an operation on an archived
 *   card 500 (Deck's plain `StatusException`);
 * - boards, stacks and cards carry `ETag` (cards: md5 of `lastModified`),
 *   also as the `ETag` header of a single board, stack or card;
 * - `stacks` lists the cards that are not archived, `stacks/archived` the
 *   archived ones; deleting a card marks it deleted;
 * - a card update sets every field it is sent and clears `duedate`,
 *   `startdate` and `done` when they are missing, as Deck does;
 * - `reorder` renumbers the target stack the way Deck's CardService does.
 *
 * Hooks seed boards (with labels, members and stacks), cards and read them.
 */
import { createHash } from "node:crypto"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { requestAuth } from "../../simulator/auth.js"
import { Empty, hook } from "../../simulator/hooks.js"
import { header, jsonResponse, searchParams } from "../../simulator/http.js"
import type { SimulatorApp } from "../../simulator/SimulatorApp.js"
import { knownUser, now, SimulatorHookError, type SimState } from "../../simulator/state.js"

export interface SimLabel {
  readonly id: number
  title: string
  color: string
}

export interface SimBoard {
  readonly id: number
  title: string
  readonly owner: string
  color: string
  archived: boolean
  deletedAt: number
  labels: Array<SimLabel>
  /** Users the board is shared with, and whether they may edit. */
  members: Map<string, { readonly edit: boolean }>
  lastModified: number
}

export interface SimStack {
  readonly id: number
  readonly boardId: number
  title: string
  order: number
  deletedAt: number
  lastModified: number
}

export interface SimCard {
  readonly id: number
  stackId: number
  title: string
  description: string
  type: string
  readonly owner: string
  order: number
  archived: boolean
  done: string | null
  duedate: string | null
  startdate: string | null
  color: string | null
  labels: Array<number>
  assigned: Array<string>
  createdAt: number
  lastModified: number
  deletedAt: number
}

export interface SimComment {
  readonly id: number
  readonly cardId: number
  readonly message: string
  readonly actorId: string
  readonly creationDateTime: string
}

interface DeckStore {
  readonly boards: Map<number, SimBoard>
  readonly stacks: Map<number, SimStack>
  readonly cards: Map<number, SimCard>
  readonly comments: Array<SimComment>
}

const DEFAULT_LABELS: ReadonlyArray<readonly [string, string]> = [
  ["Finished", "31CC7C"],
  ["To review", "317CCC"],
  ["Action needed", "FF7A66"],
  ["Later", "F1DB50"]
]

const md5 = (s: string) => createHash("md5").update(s).digest("hex")
const cardEtag = (card: SimCard) => md5(String(card.lastModified))
const seconds = (millis: number) => Math.floor(millis / 1000)

/** PHP's `DateTime::format('c')` in UTC. */
const atom = (date: Date): string => `${date.toISOString().slice(0, 19)}+00:00`

/** `new \DateTime($value)` as Deck does it: null when empty, undefined when PHP would throw. */
const phpDate = (value: unknown): string | null | undefined => {
  if (value === null || value === undefined || value === "" || value === false) return null
  if (typeof value !== "string") return undefined
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? undefined : atom(date)
}

const deckError = (status: number, message: string) => jsonResponse({ status, message }, status)
const permissionDenied = () => deckError(403, "Permission denied")

interface Access {
  readonly read: boolean
  readonly edit: boolean
  readonly manage: boolean
  readonly share: boolean
}

const accessOf = (board: SimBoard, userId: string): Access | null => {
  if (board.owner === userId) return { read: true, edit: true, manage: true, share: true }
  const member = board.members.get(userId)
  return member === undefined ? null : { read: true, edit: member.edit, manage: false, share: false }
}

const userJson = (state: SimState, uid: string) => {
  const user = state.users.get(uid)
  return { primaryKey: uid, uid, displayname: user?.displayName ?? uid, type: 0 }
}

const labelJson = (label: SimLabel, boardId: number, cardId: number | null) => ({
  title: label.title,
  color: label.color,
  boardId,
  cardId,
  lastModified: 0,
  id: label.id,
  ETag: md5(`label-${label.id}`)
})

const boardOfStack = (store: DeckStore, stackId: number): SimBoard | undefined => {
  const stack = store.stacks.get(stackId)
  return stack === undefined ? undefined : store.boards.get(stack.boardId)
}

const cardJson = (state: SimState, store: DeckStore, card: SimCard, ownerAsObject = true) => {
  const board = boardOfStack(store, card.stackId)
  const boardId = board?.id ?? 0
  const labels = (board?.labels ?? []).filter((l) => card.labels.includes(l.id)).map((l) => labelJson(l, boardId, card.id))
  return {
    title: card.title,
    description: card.description,
    descriptionPrev: null,
    stackId: card.stackId,
    type: card.type,
    lastModified: card.lastModified,
    lastEditor: null,
    createdAt: card.createdAt,
    labels,
    assignedUsers: card.assigned.map((uid, i) => ({ id: card.id * 100 + i, participant: userJson(state, uid), cardId: card.id, type: 0 })),
    attachments: [],
    attachmentCount: 0,
    owner: ownerAsObject ? userJson(state, card.owner) : card.owner,
    order: card.order,
    archived: card.archived,
    done: card.done,
    duedate: card.duedate,
    startdate: card.startdate,
    notified: false,
    deletedAt: card.deletedAt,
    commentsUnread: 0,
    commentsCount: store.comments.filter((c) => c.cardId === card.id).length,
    id: card.id,
    color: card.color,
    overdue: 0,
    ETag: cardEtag(card)
  }
}

const liveCards = (store: DeckStore, stackId: number, archived: boolean): Array<SimCard> =>
  [...store.cards.values()]
    .filter((c) => c.stackId === stackId && c.deletedAt === 0 && c.archived === archived)
    .sort((a, b) => a.order - b.order || a.id - b.id)

const stackEtag = (store: DeckStore, stack: SimStack) =>
  md5(`${stack.id}-${stack.lastModified}-${liveCards(store, stack.id, false).map(cardEtag).join(",")}`)

const stackJson = (state: SimState, store: DeckStore, stack: SimStack, archived: boolean) => ({
  title: stack.title,
  boardId: stack.boardId,
  deletedAt: stack.deletedAt,
  lastModified: stack.lastModified,
  cards: liveCards(store, stack.id, archived).map((c) => cardJson(state, store, c)),
  order: stack.order,
  id: stack.id,
  ETag: stackEtag(store, stack)
})

const boardStacks = (store: DeckStore, boardId: number): Array<SimStack> =>
  [...store.stacks.values()].filter((s) => s.boardId === boardId && s.deletedAt === 0).sort((a, b) => a.order - b.order || a.id - b.id)

const boardEtag = (store: DeckStore, board: SimBoard) =>
  md5(`${board.id}-${board.lastModified}-${boardStacks(store, board.id).map((s) => stackEtag(store, s)).join(",")}`)

const boardJson = (state: SimState, store: DeckStore, board: SimBoard, access: Access) => ({
  title: board.title,
  owner: userJson(state, board.owner),
  color: board.color,
  archived: board.archived,
  labels: board.labels.map((l) => labelJson(l, board.id, null)),
  acl: [...board.members.entries()].map(([uid, m], i) => ({
    participant: userJson(state, uid),
    type: 0,
    boardId: board.id,
    permissionEdit: m.edit,
    permissionShare: false,
    permissionManage: false,
    owner: false,
    id: board.id * 100 + i
  })),
  permissions: {
    PERMISSION_READ: access.read,
    PERMISSION_EDIT: access.edit,
    PERMISSION_MANAGE: access.manage,
    PERMISSION_SHARE: access.share
  },
  users: [board.owner, ...board.members.keys()].map((uid) => userJson(state, uid)),
  shared: board.owner === "" ? 0 : board.members.size > 0 ? 1 : 0,
  stacks: [],
  activeSessions: [],
  deletedAt: board.deletedAt,
  lastModified: board.lastModified,
  settings: { "notify-due": "off", calendar: true },
  id: board.id,
  ETag: boardEtag(store, board)
})

const withEtag = (response: HttpServerResponse.HttpServerResponse, etag: string) =>
  HttpServerResponse.setHeader(response, "ETag", `"${etag}"`)

const readJson = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    if (text.trim() === "") return {} as Record<string, unknown>
    const parsed = yield* Effect.try(() => JSON.parse(text) as unknown).pipe(Effect.orElseSucceed(() => null))
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null
  })

/** PHP's `(int)` for a request parameter Deck types as int; null when it is not a number. */
const intParam = (value: unknown): number | null => {
  if (typeof value === "number" && Number.isInteger(value)) return value
  if (typeof value === "string" && /^-?\d{1,15}$/.test(value)) return Number(value)
  return null
}

interface Ctx {
  readonly userId: string
  readonly request: HttpServerRequest.HttpServerRequest
  readonly params: Readonly<Record<string, string | undefined>>
  readonly at: number
}

type Handler = (ctx: Ctx) => Effect.Effect<HttpServerResponse.HttpServerResponse>

/** Nextcloud's login check before a Deck API controller runs. */
const deckRoute = (state: SimState, handler: Handler) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const auth = yield* requestAuth(state, request)
    if (auth._tag === "Throttled") return jsonResponse({ message: "Reached maximum delay" }, 429)
    if (auth._tag === "Failed" || auth._tag === "Anonymous") {
      return HttpServerResponse.setHeader(
        jsonResponse({ message: "Current user is not logged in" }, 401),
        "WWW-Authenticate",
        'Basic realm="Authorisation Required"'
      )
    }
    const params = yield* HttpRouter.params
    const at = yield* now(state)
    return yield* handler({ userId: auth.user.userId, request, params, at })
  })

/** The board at `:boardId` with the caller's access, or Deck's 403. */
const findBoard = (store: DeckStore, ctx: Ctx, need: keyof Access) => {
  const id = intParam(ctx.params["boardId"])
  const board = id === null ? undefined : store.boards.get(id)
  if (board === undefined || board.deletedAt !== 0) return null
  const access = accessOf(board, ctx.userId)
  return access === null || !access[need] ? null : { board, access }
}

/** The card at `:cardId` (found by id alone, as Deck does) with its board, or null for Deck's 403. */
const findCard = (store: DeckStore, ctx: Ctx, need: keyof Access, cardId = intParam(ctx.params["cardId"])) => {
  const card = cardId === null ? undefined : store.cards.get(cardId)
  if (card === undefined || card.deletedAt !== 0) return null
  const board = boardOfStack(store, card.stackId)
  if (board === undefined || board.deletedAt !== 0) return null
  const access = accessOf(board, ctx.userId)
  return access === null || !access[need] ? null : { card, board, access }
}

const touch = (store: DeckStore, card: SimCard, at: number) => {
  card.lastModified = Math.max(seconds(at), card.lastModified + 1)
  const stack = store.stacks.get(card.stackId)
  if (stack !== undefined) stack.lastModified = card.lastModified
  const board = stack === undefined ? undefined : store.boards.get(stack.boardId)
  if (board !== undefined) board.lastModified = card.lastModified
}

const validTitle = (value: unknown): string | null =>
  typeof value === "string" && value !== "" ? (value.length > 255 ? null : value) : null

const listBoards = (state: SimState, store: DeckStore): Handler => (ctx) =>
  Effect.sync(() => {
    const boards = [...store.boards.values()]
      .filter((b) => accessOf(b, ctx.userId) !== null)
      .sort((a, b) => a.id - b.id)
      .map((b) => boardJson(state, store, b, accessOf(b, ctx.userId) as Access))
    return withEtag(jsonResponse(boards), md5(JSON.stringify(boards.map((b) => `${b.id}-${b.ETag}`))))
  })

const getBoard = (state: SimState, store: DeckStore): Handler => (ctx) =>
  Effect.sync(() => {
    const found = findBoard(store, ctx, "read")
    if (found === null) return permissionDenied()
    const etag = boardEtag(store, found.board)
    if (header(ctx.request, "if-none-match")?.replace(/"/g, "") === etag) return HttpServerResponse.empty({ status: 304 })
    return withEtag(jsonResponse(boardJson(state, store, found.board, found.access)), etag)
  })

const listStacks = (state: SimState, store: DeckStore, archived: boolean): Handler => (ctx) =>
  Effect.sync(() => {
    const found = findBoard(store, ctx, "read")
    if (found === null) return permissionDenied()
    const stacks = boardStacks(store, found.board.id).map((s) => stackJson(state, store, s, archived))
    return archived ? jsonResponse(stacks) : withEtag(jsonResponse(stacks), boardEtag(store, found.board))
  })

const getCard = (state: SimState, store: DeckStore): Handler => (ctx) =>
  Effect.sync(() => {
    const found = findCard(store, ctx, "read")
    if (found === null) return permissionDenied()
    const etag = cardEtag(found.card)
    if (header(ctx.request, "if-none-match")?.replace(/"/g, "") === etag) return HttpServerResponse.empty({ status: 304 })
    return withEtag(jsonResponse(cardJson(state, store, found.card)), etag)
  })

const createCard = (state: SimState, store: DeckStore): Handler => (ctx) =>
  Effect.gen(function* () {
    const body = yield* readJson(ctx.request)
    if (body === null) return deckError(400, "Invalid JSON")
    const stackId = intParam(ctx.params["stackId"])
    const board = stackId === null ? undefined : boardOfStack(store, stackId)
    const access = board === undefined ? null : accessOf(board, ctx.userId)
    if (board === undefined || access === null || !access.edit || store.stacks.get(stackId as number)?.deletedAt !== 0) {
      return permissionDenied()
    }
    if (board.archived) return deckError(500, "Operation not allowed. This board is archived.")
    const title = validTitle(body["title"])
    if (title === null) {
      return deckError(400, typeof body["title"] === "string" && body["title"] !== "" ? "title cannot be longer than 255 characters" : "title must be provided")
    }
    const order = body["order"] === undefined ? 999 : intParam(body["order"])
    if (order === null) return deckError(400, "order must be a number")
    const duedate = phpDate(body["duedate"])
    if (duedate === undefined) return deckError(500, "Failed to parse time string")
    const card: SimCard = {
      id: state.nextId++,
      stackId: stackId as number,
      title,
      description: typeof body["description"] === "string" ? body["description"] : "",
      type: typeof body["type"] === "string" && body["type"] !== "" ? body["type"] : "plain",
      owner: ctx.userId,
      order,
      archived: false,
      done: null,
      duedate,
      startdate: null,
      color: null,
      labels: [],
      assigned: [],
      createdAt: seconds(ctx.at),
      lastModified: seconds(ctx.at),
      deletedAt: 0
    }
    store.cards.set(card.id, card)
    touch(store, card, ctx.at)
    return jsonResponse(cardJson(state, store, card, false))
  })

const updateCard = (state: SimState, store: DeckStore): Handler => (ctx) =>
  Effect.gen(function* () {
    const body = yield* readJson(ctx.request)
    if (body === null) return deckError(400, "Invalid JSON")
    const found = findCard(store, ctx, "edit")
    const stackId = intParam(ctx.params["stackId"])
    const target = stackId === null ? undefined : boardOfStack(store, stackId)
    if (found === null || target === undefined || !accessOf(target, ctx.userId)?.edit) return permissionDenied()
    const { card, board } = found
    if (board.archived) return deckError(500, "Operation not allowed. This board is archived.")
    const archived = typeof body["archived"] === "boolean" ? body["archived"] : null
    if (archived === true && card.archived) return deckError(500, "Operation not allowed. This card is archived.")
    for (const field of ["title", "type", "owner"] as const) {
      if (typeof body[field] !== "string" || body[field] === "") return deckError(400, `${field} must be provided`)
    }
    const title = validTitle(body["title"])
    if (title === null) return deckError(400, "title cannot be longer than 255 characters")
    const order = body["order"] === undefined ? 0 : intParam(body["order"])
    if (order === null) return deckError(400, "order must be a number")
    const duedate = phpDate(body["duedate"])
    const startdate = phpDate(body["startdate"])
    const done = "done" in body ? phpDate(body["done"]) : null
    if (duedate === undefined || startdate === undefined || done === undefined) return deckError(500, "Failed to parse time string")
    card.title = title
    card.stackId = stackId as number
    card.type = body["type"] as string
    card.order = order
    card.duedate = duedate
    card.startdate = startdate
    card.done = done
    if ("color" in body) card.color = typeof body["color"] === "string" && body["color"] !== "" ? body["color"] : null
    if (archived !== null) card.archived = archived
    card.description = typeof body["description"] === "string" ? body["description"] : ""
    touch(store, card, ctx.at)
    return jsonResponse(cardJson(state, store, card, false))
  })

const labelAction = (state: SimState, store: DeckStore, assign: boolean): Handler => (ctx) =>
  Effect.gen(function* () {
    const body = yield* readJson(ctx.request)
    if (body === null) return deckError(400, "Invalid JSON")
    const labelId = intParam(body["labelId"])
    if (labelId === null) return deckError(400, "labelId must be a number")
    const found = findCard(store, ctx, "edit")
    if (found === null) return permissionDenied()
    const { card, board } = found
    if (board.archived) return deckError(500, "Operation not allowed. This board is archived.")
    if (card.archived) return deckError(500, "Operation not allowed. This card is archived.")
    const label = [...store.boards.values()].flatMap((b) => b.labels.map((l) => ({ l, b }))).find((x) => x.l.id === labelId)
    if (label === undefined || accessOf(label.b, ctx.userId) === null) return permissionDenied()
    if (label.b.id !== board.id) return deckError(500, "Operation not allowed. Label does not exist.")
    if (assign) {
      if (card.labels.includes(labelId)) return deckError(500, "Internal server error")
      card.labels.push(labelId)
    } else {
      card.labels = card.labels.filter((id) => id !== labelId)
    }
    touch(store, card, ctx.at)
    return jsonResponse(cardJson(state, store, card))
  })

const userAction = (state: SimState, store: DeckStore, assign: boolean): Handler => (ctx) =>
  Effect.gen(function* () {
    const body = yield* readJson(ctx.request)
    if (body === null) return deckError(400, "Invalid JSON")
    const userId = body["userId"]
    if (typeof userId !== "string" || userId === "") return deckError(400, "userId must be provided")
    const found = findCard(store, ctx, "edit")
    if (found === null) return permissionDenied()
    const { card, board } = found
    if (assign) {
      if (card.assigned.includes(userId)) return deckError(400, "The user is already assigned to the card")
      if (accessOf(board, userId) === null) return deckError(400, "The user is not part of the board")
      card.assigned.push(userId)
      touch(store, card, ctx.at)
      const i = card.assigned.length - 1
      return jsonResponse({ id: card.id * 100 + i, participant: userJson(state, userId), cardId: card.id, type: 0 })
    }
    if (!card.assigned.includes(userId)) return deckError(404, `No assignment for ${userId}found.`)
    card.assigned = card.assigned.filter((uid) => uid !== userId)
    touch(store, card, ctx.at)
    return jsonResponse({ id: card.id, participant: userJson(state, userId), cardId: card.id, type: 0 })
  })

/** Deck's CardService::reorder, step by step. */
export const reorderStack = (cards: ReadonlyArray<SimCard>, movedId: number, order: number): void => {
  let i = 0
  for (const card of cards) {
    if (card.id === movedId) card.order = order
    if (i === order) i++
    if (card.id !== movedId) card.order = i++
  }
}

const reorderCard = (state: SimState, store: DeckStore): Handler => (ctx) =>
  Effect.gen(function* () {
    const body = yield* readJson(ctx.request)
    if (body === null) return deckError(400, "Invalid JSON")
    const stackId = intParam(body["stackId"])
    const order = intParam(body["order"])
    if (stackId === null) return deckError(400, "stackId must be a number")
    if (order === null) return deckError(400, "order must be a number")
    const found = findCard(store, ctx, "edit")
    const targetBoard = boardOfStack(store, stackId)
    if (found === null || targetBoard === undefined || !accessOf(targetBoard, ctx.userId)?.edit) return permissionDenied()
    if (found.board.archived) return deckError(500, "Operation not allowed. This board is archived.")
    if (found.card.archived) return deckError(500, "Operation not allowed. This card is archived.")
    const card = found.card
    card.stackId = stackId
    touch(store, card, ctx.at)
    const cards = liveCards(store, stackId, false)
    reorderStack(cards, card.id, order)
    for (const c of cards) if (c.id !== card.id) c.lastModified = Math.max(c.lastModified, seconds(ctx.at))
    const byOrder = new Map<number, SimCard>()
    for (const c of cards) byOrder.set(c.order, c)
    return jsonResponse([...byOrder.values()].map((c) => cardJson(state, store, c)))
  })

const deleteCard = (state: SimState, store: DeckStore): Handler => (ctx) =>
  Effect.sync(() => {
    const found = findCard(store, ctx, "edit")
    if (found === null) return permissionDenied()
    found.card.deletedAt = seconds(ctx.at)
    touch(store, found.card, ctx.at)
    return jsonResponse(cardJson(state, store, found.card, false))
  })

// ---------------------------------------------------------------------------
// Comments (OCS)

const ocsJson = (httpStatus: number, statuscode: number, message: string, data: unknown) =>
  HttpServerResponse.text(
    JSON.stringify({
      ocs: {
        meta: { status: statuscode === 200 ? "ok" : "failure", statuscode, message, totalitems: "", itemsperpage: "" },
        data
      }
    }),
    { status: httpStatus, contentType: "application/json; charset=utf-8" }
  )

const commentJson = (state: SimState, comment: SimComment) => ({
  id: String(comment.id),
  objectId: String(comment.cardId),
  message: comment.message,
  actorId: comment.actorId,
  actorType: "users",
  actorDisplayName: state.users.get(comment.actorId)?.displayName ?? comment.actorId,
  creationDateTime: comment.creationDateTime,
  mentions: []
})

/** An OCS route: login, then the CSRF check (`OCS-APIRequest: true`), as Nextcloud's OCS front controller does. */
const ocsRoute = (state: SimState, handler: Handler) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const auth = yield* requestAuth(state, request)
    if (auth._tag === "Throttled") return ocsJson(429, 429, "Reached maximum delay", [])
    if (auth._tag === "Failed") return ocsJson(401, 997, "Unauthorised", [])
    if (header(request, "ocs-apirequest")?.toLowerCase() !== "true") {
      return jsonResponse({ message: "CSRF check failed" }, 412)
    }
    if (auth._tag === "Anonymous") return ocsJson(401, 997, "Current user is not logged in", [])
    const params = yield* HttpRouter.params
    const at = yield* now(state)
    return yield* handler({ userId: auth.user.userId, request, params, at })
  })

const MAX_COMMENT = 1000

const createComment = (state: SimState, store: DeckStore): Handler => (ctx) =>
  Effect.gen(function* () {
    const body = yield* readJson(ctx.request)
    const message = body?.["message"]
    if (typeof message !== "string") return ocsJson(400, 400, "message must be provided", [])
    const found = findCard(store, ctx, "read")
    if (found === null) return ocsJson(403, 403, "Permission denied", [])
    if (message.length > MAX_COMMENT) return ocsJson(400, 400, `Message exceeds allowed character limit of ${MAX_COMMENT}`, [])
    if (message.trim() === "") return ocsJson(400, 400, "Invalid input values", [])
    const comment: SimComment = {
      id: state.nextId++,
      cardId: found.card.id,
      message,
      actorId: ctx.userId,
      creationDateTime: atom(new Date(ctx.at))
    }
    store.comments.push(comment)
    return ocsJson(200, 200, "OK", commentJson(state, comment))
  })

const listComments = (state: SimState, store: DeckStore): Handler => (ctx) =>
  Effect.sync(() => {
    const found = findCard(store, ctx, "read")
    if (found === null) return ocsJson(403, 403, "Permission denied", [])
    const params = searchParams(ctx.request)
    const limit = intParam(params.get("limit")) ?? 20
    const offset = intParam(params.get("offset")) ?? 0
    const comments = store.comments
      .filter((c) => c.cardId === found.card.id)
      .sort((a, b) => b.id - a.id)
      .slice(offset, offset + limit)
    return ocsJson(200, 200, "OK", comments.map((c) => commentJson(state, c)))
  })

// ---------------------------------------------------------------------------
// Routes

const API = "/apps/deck/api"
const VERSIONS = ["v1.0", "v1.1"] as const
const OCS_COMMENTS = "/ocs/v2.php/apps/deck/api/v1.0/cards/:cardId/comments"

type Path = `/${string}`

const deckRoutes = (state: SimState, store: DeckStore): HttpRouter.HttpRouter => {
  let router = HttpRouter.empty
  const r = (handler: Handler) => deckRoute(state, handler)
  for (const prefix of ["/index.php", ""]) {
    for (const version of VERSIONS) {
      const base = `${prefix}${API}/${version}`
      const card = `${base}/boards/:boardId/stacks/:stackId/cards/:cardId`
      router = router.pipe(
        HttpRouter.get(`${base}/boards` as Path, r(listBoards(state, store))),
        HttpRouter.get(`${base}/boards/:boardId` as Path, r(getBoard(state, store))),
        HttpRouter.get(`${base}/boards/:boardId/stacks` as Path, r(listStacks(state, store, false))),
        HttpRouter.get(`${base}/boards/:boardId/stacks/archived` as Path, r(listStacks(state, store, true))),
        HttpRouter.post(`${base}/boards/:boardId/stacks/:stackId/cards` as Path, r(createCard(state, store))),
        HttpRouter.get(card as Path, r(getCard(state, store))),
        HttpRouter.put(card as Path, r(updateCard(state, store))),
        HttpRouter.del(card as Path, r(deleteCard(state, store))),
        HttpRouter.put(`${card}/assignLabel` as Path, r(labelAction(state, store, true))),
        HttpRouter.put(`${card}/removeLabel` as Path, r(labelAction(state, store, false))),
        HttpRouter.put(`${card}/assignUser` as Path, r(userAction(state, store, true))),
        HttpRouter.put(`${card}/unassignUser` as Path, r(userAction(state, store, false))),
        HttpRouter.put(`${card}/reorder` as Path, r(reorderCard(state, store)))
      )
    }
  }
  return router.pipe(
    HttpRouter.post(OCS_COMMENTS, ocsRoute(state, createComment(state, store))),
    HttpRouter.get(OCS_COMMENTS, ocsRoute(state, listComments(state, store)))
  )
}

const ROUTE_KEYS = [
  "deck.boards",
  "deck.board",
  "deck.stacks",
  "deck.card.get",
  "deck.card.create",
  "deck.card.update",
  "deck.card.labels",
  "deck.card.assign",
  "deck.card.reorder",
  "deck.card.delete",
  "deck.other"
] as const

const routeKey = (method: string, path: string): string | undefined => {
  const m = /^\/apps\/deck\/api\/v1\.[01](\/.*)?$/.exec(path)
  if (m === null) return path.startsWith("/apps/deck/") ? "deck.other" : undefined
  const rest = m[1] ?? ""
  if (rest === "/boards") return method === "GET" ? "deck.boards" : "deck.other"
  if (/^\/boards\/[^/]+$/.test(rest)) return method === "GET" ? "deck.board" : "deck.other"
  if (/^\/boards\/[^/]+\/stacks(\/archived)?$/.test(rest)) return method === "GET" ? "deck.stacks" : "deck.other"
  if (/^\/boards\/[^/]+\/stacks\/[^/]+\/cards$/.test(rest)) return method === "POST" ? "deck.card.create" : "deck.other"
  const card = /^\/boards\/[^/]+\/stacks\/[^/]+\/cards\/[^/]+(\/[^/]+)?$/.exec(rest)
  if (card !== null) {
    const action = card[1]
    if (action === undefined) {
      return method === "GET" ? "deck.card.get" : method === "PUT" ? "deck.card.update" : method === "DELETE" ? "deck.card.delete" : "deck.other"
    }
    if (action === "/assignLabel" || action === "/removeLabel") return "deck.card.labels"
    if (action === "/assignUser" || action === "/unassignUser") return "deck.card.assign"
    if (action === "/reorder") return "deck.card.reorder"
  }
  return "deck.other"
}

// ---------------------------------------------------------------------------
// Hooks

export interface SeedBoard {
  readonly owner: string
  readonly title: string
  readonly color?: string | undefined
  readonly archived?: boolean | undefined
  /** Labels to create; default Deck's four ("Finished", "To review", "Action needed", "Later"). */
  readonly labels?: ReadonlyArray<string> | undefined
  /** Stack titles, in order. */
  readonly stacks?: ReadonlyArray<string> | undefined
  /** Users the board is shared with. */
  readonly members?: ReadonlyArray<{ readonly userId: string; readonly edit?: boolean | undefined }> | undefined
}

export interface SeedCard {
  readonly stackId: number
  readonly title: string
  readonly owner?: string | undefined
  readonly description?: string | undefined
  readonly duedate?: string | undefined
  readonly archived?: boolean | undefined
  readonly order?: number | undefined
  readonly done?: string | undefined
  readonly startdate?: string | undefined
  readonly labels?: ReadonlyArray<number> | undefined
  readonly assigned?: ReadonlyArray<string> | undefined
}

export interface BoardInfo {
  readonly id: number
  readonly title: string
  readonly owner: string
  readonly archived: boolean
  readonly labels: ReadonlyArray<SimLabel>
  readonly stacks: ReadonlyArray<{ readonly id: number; readonly title: string; readonly order: number }>
}

export type CardInfo = Omit<SimCard, never> & { readonly etag: string }

export interface DeckControl {
  readonly seedBoard: (input: SeedBoard) => Effect.Effect<BoardInfo, SimulatorHookError>
  readonly seedCard: (input: SeedCard) => Effect.Effect<CardInfo, SimulatorHookError>
  /** A card as stored (deleted and archived ones too). */
  readonly getDeckCard: (cardId: number) => Effect.Effect<CardInfo, SimulatorHookError>
  /** A stack's live cards in Deck's order. */
  readonly listDeckCards: (stackId: number) => Effect.Effect<ReadonlyArray<CardInfo>, SimulatorHookError>
  /** A card's comments, oldest first. */
  readonly listDeckComments: (cardId: number) => Effect.Effect<ReadonlyArray<SimComment>, SimulatorHookError>
}

const unknownPath = (what: string) => new SimulatorHookError({ reason: "UnknownPath", message: `no ${what}` })
const cardInfo = (card: SimCard): CardInfo => ({ ...card, labels: [...card.labels], assigned: [...card.assigned], etag: cardEtag(card) })

const makeControl = (state: SimState, store: DeckStore): DeckControl => ({
  seedBoard: Effect.fn("Simulator.seedDeckBoard")(function* (input: SeedBoard) {
    yield* knownUser(state, input.owner)
    for (const member of input.members ?? []) yield* knownUser(state, member.userId)
    const at = seconds(yield* now(state))
    const board: SimBoard = {
      id: state.nextId++,
      title: input.title,
      owner: input.owner,
      color: input.color ?? "0082c9",
      archived: input.archived ?? false,
      deletedAt: 0,
      labels: [],
      members: new Map((input.members ?? []).map((m) => [m.userId, { edit: m.edit ?? false }])),
      lastModified: at
    }
    const labels = input.labels === undefined ? DEFAULT_LABELS : input.labels.map((t, i) => [t, DEFAULT_LABELS[i % 4]?.[1] ?? "31CC7C"] as const)
    board.labels = labels.map(([title, color]) => ({ id: state.nextId++, title, color }))
    store.boards.set(board.id, board)
    const stacks = (input.stacks ?? []).map((title, order) => {
      const stack: SimStack = { id: state.nextId++, boardId: board.id, title, order, deletedAt: 0, lastModified: at }
      store.stacks.set(stack.id, stack)
      return { id: stack.id, title, order }
    })
    return { id: board.id, title: board.title, owner: board.owner, archived: board.archived, labels: board.labels.map((l) => ({ ...l })), stacks }
  }),
  seedCard: Effect.fn("Simulator.seedDeckCard")(function* (input: SeedCard) {
    const board = boardOfStack(store, input.stackId)
    if (board === undefined) return yield* unknownPath(`stack ${input.stackId}`)
    const at = seconds(yield* now(state))
    const card: SimCard = {
      id: state.nextId++,
      stackId: input.stackId,
      title: input.title,
      description: input.description ?? "",
      type: "plain",
      owner: input.owner ?? board.owner,
      order: input.order ?? 999,
      archived: input.archived ?? false,
      done: phpDate(input.done) ?? null,
      duedate: phpDate(input.duedate) ?? null,
      startdate: phpDate(input.startdate) ?? null,
      color: null,
      labels: [...(input.labels ?? [])],
      assigned: [...(input.assigned ?? [])],
      createdAt: at,
      lastModified: at,
      deletedAt: 0
    }
    store.cards.set(card.id, card)
    return cardInfo(card)
  }),
  getDeckCard: Effect.fn("Simulator.getDeckCard")(function* (cardId: number) {
    const card = store.cards.get(cardId)
    if (card === undefined) return yield* unknownPath(`card ${cardId}`)
    return cardInfo(card)
  }),
  listDeckCards: Effect.fn("Simulator.listDeckCards")(function* (stackId: number) {
    if (!store.stacks.has(stackId)) return yield* unknownPath(`stack ${stackId}`)
    return liveCards(store, stackId, false).map(cardInfo)
  }),
  listDeckComments: Effect.fn("Simulator.listDeckComments")(function* (cardId: number) {
    return store.comments.filter((c) => c.cardId === cardId).map((c) => ({ ...c }))
  })
})

const SeedBoardBody = Schema.Struct({
  owner: Schema.String,
  title: Schema.String,
  color: Schema.optional(Schema.String),
  archived: Schema.optional(Schema.Boolean),
  labels: Schema.optional(Schema.Array(Schema.String)),
  stacks: Schema.optional(Schema.Array(Schema.String)),
  members: Schema.optional(Schema.Array(Schema.Struct({ userId: Schema.String, edit: Schema.optional(Schema.Boolean) })))
})

const Id = Schema.Number.pipe(Schema.int())

const SeedCardBody = Schema.Struct({
  stackId: Id,
  title: Schema.String,
  owner: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  duedate: Schema.optional(Schema.String),
  archived: Schema.optional(Schema.Boolean),
  order: Schema.optional(Id),
  done: Schema.optional(Schema.String),
  startdate: Schema.optional(Schema.String),
  labels: Schema.optional(Schema.Array(Id)),
  assigned: Schema.optional(Schema.Array(Schema.String))
})

const idParam = (params: Readonly<Record<string, string | undefined>>, name: string) => Number(params[name] ?? "NaN")

const hookRoutes = (control: DeckControl): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/__sim/deck/boards", hook(SeedBoardBody, (input) => control.seedBoard(input), 201)),
    HttpRouter.post("/__sim/deck/cards", hook(SeedCardBody, (input) => control.seedCard(input), 201)),
    HttpRouter.get("/__sim/deck/cards/:cardId", hook(Empty, (_, params) => control.getDeckCard(idParam(params, "cardId")))),
    HttpRouter.get(
      "/__sim/deck/stacks/:stackId/cards",
      hook(Empty, (_, params) => control.listDeckCards(idParam(params, "stackId")))
    ),
    HttpRouter.get(
      "/__sim/deck/cards/:cardId/comments",
      hook(Empty, (_, params) => control.listDeckComments(idParam(params, "cardId")))
    )
  )

export const deckSimulator: SimulatorApp<DeckControl> = {
  nextcloudApp: { id: "deck", name: "Deck", capabilities: { version: "1.14.0", canCreateBoards: true } },
  routeKeys: ROUTE_KEYS,
  routeKey,
  hookEndpoints: [
    "POST   /__sim/deck/boards                      {owner, title, color?, archived?, labels?, stacks?, members?: [{userId, edit?}]}",
    "POST   /__sim/deck/cards                       {stackId, title, owner?, description?, duedate?, archived?, order?, done?, startdate?, labels?, assigned?}",
    "GET    /__sim/deck/cards/{cardId}              a Deck card as stored",
    "GET    /__sim/deck/stacks/{stackId}/cards      a stack's live cards in order",
    "GET    /__sim/deck/cards/{cardId}/comments     a card's comments"
  ],
  mount: (state) => {
    const store: DeckStore = { boards: new Map(), stacks: new Map(), cards: new Map(), comments: [] }
    const control = makeControl(state, store)
    return { routes: deckRoutes(state, store), hooks: hookRoutes(control), control }
  },
  remote: (call) => ({
    seedBoard: (input) => call("POST", "/deck/boards", input),
    seedCard: (input) => call("POST", "/deck/cards", input),
    getDeckCard: (cardId) => call("GET", `/deck/cards/${cardId}`),
    listDeckCards: (stackId) => call("GET", `/deck/stacks/${stackId}/cards`),
    listDeckComments: (cardId) => call("GET", `/deck/cards/${cardId}/comments`)
  })
}
