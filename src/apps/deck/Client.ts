/**
 * Nextcloud Deck (docs/nextcloud-protocol.md, "Deck"): the REST API v1.0 below
 * `/index.php/apps/deck/api/v1.0/`, and card comments over OCS
 * (`/ocs/v2.php/apps/deck/api/v1.0/cards/{cardId}/comments`). Every request
 * carries `OCS-APIRequest: true`, as Deck's API documentation asks, and the
 * user's app password as Basic auth.
 *
 * Reads are retried on a refused connection or a 5xx (see call.ts); writes
 * are not. Deck answers 403 "Permission denied" both for what the user may
 * not touch and for what does not exist (it does not leak which).
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Context, Effect, Layer, Schema } from "effect"
import { makeCaller } from "../../nextcloud/call.js"
import { decodeJsonBody, type NextcloudResponse, underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../nextcloud/Ocs.js"
import { type DataCallError, expectStatus, unexpectedStatus } from "../../nextcloud/errors.js"

const Int = Schema.Number.pipe(Schema.int())
/** Deck's ids are integers, but some answers carry them as strings (labels' boardId, comments). */
const IntLike = Schema.Union(Int, Schema.NumberFromString)
const OptionalString = Schema.optional(Schema.NullOr(Schema.String))

/** A user as Deck shows one (board owner, participant of an assignment). */
export const DeckUser = Schema.Struct({
  uid: Schema.String,
  displayname: OptionalString,
  type: Schema.optional(Schema.Number)
})
export type DeckUser = typeof DeckUser.Type

export const Label = Schema.Struct({
  id: Int,
  title: Schema.String,
  color: OptionalString
})
export type Label = typeof Label.Type

export const Assignment = Schema.Struct({
  participant: DeckUser,
  type: Schema.optional(Schema.Number)
})

/** A card (the fields this product uses; the rest are kept by read-then-write updates). */
export const Card = Schema.Struct({
  id: Int,
  title: Schema.String,
  description: OptionalString,
  stackId: Int,
  type: Schema.optional(Schema.String),
  /** A uid in some answers, a user object in others. */
  owner: Schema.optional(Schema.Union(Schema.String, DeckUser)),
  order: Int,
  archived: Schema.Boolean,
  done: OptionalString,
  duedate: OptionalString,
  startdate: OptionalString,
  color: OptionalString,
  labels: Schema.optional(Schema.NullOr(Schema.Array(Label))),
  assignedUsers: Schema.optional(Schema.NullOr(Schema.Array(Assignment))),
  lastModified: Schema.optional(Schema.Number),
  deletedAt: Schema.optional(Schema.Number),
  ETag: Schema.optional(Schema.String)
})
export type Card = typeof Card.Type

export const Stack = Schema.Struct({
  id: Int,
  title: Schema.String,
  boardId: IntLike,
  order: Int,
  cards: Schema.optional(Schema.NullOr(Schema.Array(Card)))
})
export type Stack = typeof Stack.Type

export const Permissions = Schema.Struct({
  PERMISSION_READ: Schema.optional(Schema.Boolean),
  PERMISSION_EDIT: Schema.optional(Schema.Boolean),
  PERMISSION_MANAGE: Schema.optional(Schema.Boolean),
  PERMISSION_SHARE: Schema.optional(Schema.Boolean)
})

export const Board = Schema.Struct({
  id: Int,
  title: Schema.String,
  owner: Schema.optional(Schema.Union(Schema.String, DeckUser)),
  color: OptionalString,
  archived: Schema.Boolean,
  labels: Schema.optional(Schema.NullOr(Schema.Array(Label))),
  users: Schema.optional(Schema.NullOr(Schema.Array(DeckUser))),
  permissions: Schema.optional(Permissions),
  deletedAt: Schema.optional(Schema.Number),
  lastModified: Schema.optional(Schema.Number),
  ETag: Schema.optional(Schema.String)
})
export type Board = typeof Board.Type

export const Comment = Schema.Struct({
  id: IntLike,
  objectId: IntLike,
  message: Schema.String,
  actorId: Schema.String,
  actorDisplayName: OptionalString,
  creationDateTime: Schema.String
})
export type Comment = typeof Comment.Type

const OcsComment = Schema.Struct({
  ocs: Schema.Struct({ meta: Schema.Struct({ statuscode: Schema.Number }), data: Comment })
})

/** A card and the ETag its GET answered with. */
export interface CardWithEtag {
  readonly card: Card
  readonly etag: string
}

export interface NewCard {
  readonly title: string
  readonly description?: string | undefined
  /** ISO 8601, or null. */
  readonly duedate?: string | null | undefined
  /** Position in the stack; Deck's default is 999 (at the end). */
  readonly order?: number | undefined
}

/**
 * The full card body Deck's update needs: it sets every field it is sent and
 * clears `done`, `startdate` and `duedate` when they are missing, so the
 * caller sends what it read with its changes on top.
 */
export interface CardUpdate {
  readonly title: string
  readonly type: string
  readonly owner: string
  readonly description: string
  readonly order: number
  readonly duedate: string | null
  readonly startdate: string | null
  readonly done: string | null
  readonly archived: boolean
  readonly color?: string | null | undefined
}

/** Where a card is: board, stack, card. */
export interface CardRef {
  readonly boardId: number
  readonly stackId: number
  readonly cardId: number
}

export interface DeckShape {
  readonly listBoards: (credentials: Credentials) => Effect.Effect<ReadonlyArray<Board>, DataCallError>
  readonly getBoard: (credentials: Credentials, boardId: number) => Effect.Effect<Board, DataCallError>
  /** The board's stacks with their cards that are not archived. */
  readonly listStacks: (credentials: Credentials, boardId: number) => Effect.Effect<ReadonlyArray<Stack>, DataCallError>
  /** The board's stacks with their archived cards. */
  readonly listArchivedStacks: (credentials: Credentials, boardId: number) => Effect.Effect<ReadonlyArray<Stack>, DataCallError>
  readonly getCard: (credentials: Credentials, ref: CardRef) => Effect.Effect<CardWithEtag, DataCallError>
  readonly createCard: (
    credentials: Credentials,
    boardId: number,
    stackId: number,
    card: NewCard
  ) => Effect.Effect<Card, DataCallError>
  readonly updateCard: (credentials: Credentials, ref: CardRef, card: CardUpdate) => Effect.Effect<Card, DataCallError>
  readonly assignLabel: (credentials: Credentials, ref: CardRef, labelId: number) => Effect.Effect<void, DataCallError>
  readonly removeLabel: (credentials: Credentials, ref: CardRef, labelId: number) => Effect.Effect<void, DataCallError>
  readonly assignUser: (credentials: Credentials, ref: CardRef, userId: string) => Effect.Effect<void, DataCallError>
  readonly unassignUser: (credentials: Credentials, ref: CardRef, userId: string) => Effect.Effect<void, DataCallError>
  /** Moves the card to `order` in stack `toStackId`; answers that stack's cards as Deck renumbered them. */
  readonly reorderCard: (
    credentials: Credentials,
    ref: CardRef,
    toStackId: number,
    order: number
  ) => Effect.Effect<ReadonlyArray<Card>, DataCallError>
  readonly deleteCard: (credentials: Credentials, ref: CardRef) => Effect.Effect<void, DataCallError>
  readonly addComment: (credentials: Credentials, cardId: number, message: string) => Effect.Effect<Comment, DataCallError>
}

export class Deck extends Context.Tag("nextcloud-mcp/Deck")<Deck, DeckShape>() {}

export const DECK_API = "index.php/apps/deck/api/v1.0"
export const DECK_OCS = "ocs/v2.php/apps/deck/api/v1.0"

const unquote = (value: string): string => value.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1")

export const DeckLive: Layer.Layer<Deck, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  Deck,
  Effect.gen(function* () {
    const config = yield* NextcloudConfig
    const nc = makeCaller(yield* HttpClient.HttpClient, config)

    const send = (
      operation: string,
      request: HttpClientRequest.HttpClientRequest,
      credentials: Credentials,
      expected: ReadonlyArray<number> = [200]
    ): Effect.Effect<NextcloudResponse, DataCallError> =>
      nc.json(operation, request, credentials, { ocs: true }).pipe(Effect.flatMap(expectStatus(operation, expected)))

    const api = (path: string) => underBase(config.host, `${DECK_API}/${path}`)
    const cardPath = (ref: CardRef) => `boards/${ref.boardId}/stacks/${ref.stackId}/cards/${ref.cardId}`
    const put = (path: string, body: unknown) => HttpClientRequest.put(api(path)).pipe(HttpClientRequest.bodyUnsafeJson(body))

    const listBoards = Effect.fn("Deck.listBoards")(function* (credentials: Credentials) {
      const operation = "Deck.listBoards"
      const response = yield* send(operation, HttpClientRequest.get(api("boards")), credentials)
      return yield* decodeJsonBody(Schema.Array(Board), operation)(response)
    })

    const getBoard = Effect.fn("Deck.getBoard")(function* (credentials: Credentials, boardId: number) {
      const operation = "Deck.getBoard"
      const response = yield* send(operation, HttpClientRequest.get(api(`boards/${boardId}`)), credentials)
      return yield* decodeJsonBody(Board, operation)(response)
    })

    const stacks = (operation: string, suffix: string) => (credentials: Credentials, boardId: number) =>
      send(operation, HttpClientRequest.get(api(`boards/${boardId}/stacks${suffix}`)), credentials).pipe(
        Effect.flatMap(decodeJsonBody(Schema.Array(Stack), operation)),
        Effect.withSpan(operation)
      )

    const getCard = Effect.fn("Deck.getCard")(function* (credentials: Credentials, ref: CardRef) {
      const operation = "Deck.getCard"
      const response = yield* send(operation, HttpClientRequest.get(api(cardPath(ref))), credentials)
      const card = yield* decodeJsonBody(Card, operation)(response)
      const header = response.headers["etag"]
      const etag = header !== undefined && header !== "" ? unquote(header) : card.ETag
      if (etag === undefined) return yield* unexpectedStatus(operation, response.status, "the card has no ETag")
      return { card, etag } satisfies CardWithEtag
    })

    const createCard = Effect.fn("Deck.createCard")(function* (
      credentials: Credentials,
      boardId: number,
      stackId: number,
      card: NewCard
    ) {
      const operation = "Deck.createCard"
      const body: Record<string, unknown> = { title: card.title, type: "plain", order: card.order ?? 999 }
      if (card.description !== undefined) body["description"] = card.description
      if (card.duedate !== undefined) body["duedate"] = card.duedate
      const request = HttpClientRequest.post(api(`boards/${boardId}/stacks/${stackId}/cards`)).pipe(
        HttpClientRequest.bodyUnsafeJson(body)
      )
      const response = yield* send(operation, request, credentials)
      return yield* decodeJsonBody(Card, operation)(response)
    })

    const updateCard = Effect.fn("Deck.updateCard")(function* (credentials: Credentials, ref: CardRef, card: CardUpdate) {
      const operation = "Deck.updateCard"
      const response = yield* send(operation, put(cardPath(ref), card), credentials)
      return yield* decodeJsonBody(Card, operation)(response)
    })

    const cardAction = (operation: string, action: string) => (credentials: Credentials, ref: CardRef, body: unknown) =>
      send(operation, put(`${cardPath(ref)}/${action}`, body), credentials).pipe(Effect.asVoid, Effect.withSpan(operation))

    const assignLabelCall = cardAction("Deck.assignLabel", "assignLabel")
    const removeLabelCall = cardAction("Deck.removeLabel", "removeLabel")
    const assignUserCall = cardAction("Deck.assignUser", "assignUser")
    const unassignUserCall = cardAction("Deck.unassignUser", "unassignUser")

    const reorderCard = Effect.fn("Deck.reorderCard")(function* (
      credentials: Credentials,
      ref: CardRef,
      toStackId: number,
      order: number
    ) {
      const operation = "Deck.reorderCard"
      const response = yield* send(operation, put(`${cardPath(ref)}/reorder`, { stackId: toStackId, order }), credentials)
      return yield* decodeJsonBody(Schema.Array(Card), operation)(response)
    })

    const deleteCard = Effect.fn("Deck.deleteCard")(function* (credentials: Credentials, ref: CardRef) {
      yield* send("Deck.deleteCard", HttpClientRequest.del(api(cardPath(ref))), credentials)
    })

    const addComment = Effect.fn("Deck.addComment")(function* (credentials: Credentials, cardId: number, message: string) {
      const operation = "Deck.addComment"
      const request = HttpClientRequest.post(underBase(config.host, `${DECK_OCS}/cards/${cardId}/comments`)).pipe(
        HttpClientRequest.setUrlParam("format", "json"),
        HttpClientRequest.bodyUnsafeJson({ message })
      )
      const response = yield* send(operation, request, credentials)
      const body = yield* decodeJsonBody(OcsComment, operation)(response)
      return body.ocs.data
    })

    return Deck.of({
      listBoards,
      getBoard,
      listStacks: stacks("Deck.listStacks", ""),
      listArchivedStacks: stacks("Deck.listArchivedStacks", "/archived"),
      getCard,
      createCard,
      updateCard,
      assignLabel: (credentials, ref, labelId) => assignLabelCall(credentials, ref, { labelId }),
      removeLabel: (credentials, ref, labelId) => removeLabelCall(credentials, ref, { labelId }),
      assignUser: (credentials, ref, userId) => assignUserCall(credentials, ref, { userId }),
      unassignUser: (credentials, ref, userId) => unassignUserCall(credentials, ref, { userId }),
      reorderCard,
      deleteCard,
      addComment
    })
  })
)
