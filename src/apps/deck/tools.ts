/**
 * Deck tools (docs/nextcloud-protocol.md, "Deck"): boards, a board with its
 * stacks and cards, and card create / update / move / delete / comment.
 * Reads need `deck.read`, writes `deck.write`.
 *
 * A card is addressed by `board_id`, `stack_id` and `card_id`, as
 * nc_deck_get_board hands them out. Deck has no conditional update: an
 * `if_match` is checked against the card as read just before writing it,
 * and Deck's update needs the whole card anyway, so every update reads the
 * card and sends it back with the changes on top (fields this product does
 * not model, such as the start date, done date and colour, are sent back as
 * they were).
 */
import { Effect, Schema } from "effect"
import { Conflict, InvalidArguments, NextcloudError, NotFound, PermissionDenied } from "../../domain/Errors.js"
import { underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../nextcloud/Ocs.js"
import { credentialsOf } from "../../tools/account.js"
import { whileTrying } from "../../tools/nextcloudFailures.js"
import * as Tool from "../../tools/Tool.js"
import { type Board, type Card, type CardRef, type CardUpdate, Deck, type DeckUser, type Label, type Stack } from "./Client.js"

const Id = (description: string) =>
  Schema.Number.pipe(Schema.int(), Schema.between(1, Number.MAX_SAFE_INTEGER)).annotations({ description })
const BoardId = Id("The board's id (from nc_deck_list_boards)")
const StackId = Id("The stack's id (from nc_deck_get_board)")
const CardId = Id("The card's id (from nc_deck_get_board)")

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 500
const Limit = Schema.Number.pipe(Schema.int(), Schema.between(1, MAX_LIMIT)).annotations({
  description: `At most this many items, 1–${MAX_LIMIT} (default ${DEFAULT_LIMIT})`
})
const Cursor = Schema.String.pipe(Schema.pattern(/^\d{1,9}$/)).annotations({ description: "next_cursor of the previous page" })

const Title = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255))
const Description = Schema.String.pipe(Schema.maxLength(100_000)).annotations({ description: "Markdown" })

/** RFC 3339 with an offset: Deck stores a point in time. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/
export const DueDate = Schema.String.pipe(
  Schema.filter((s) => (RFC3339.test(s) && !Number.isNaN(Date.parse(s))) || "an RFC 3339 date-time with an offset, e.g. 2026-12-24T18:00:00+01:00")
).annotations({
  description: "RFC 3339 date-time with an offset, e.g. 2026-12-24T18:00:00+01:00",
  // Test data: a random filter over strings would almost never match.
  arbitrary: () => (fc) =>
    fc
      .integer({ min: 0, max: 4_000_000_000 })
      .map((seconds) => `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`)
})

const LabelRef = Schema.Union(Schema.Number.pipe(Schema.int(), Schema.positive()), Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255)))
const Labels = Schema.Array(LabelRef).pipe(Schema.maxItems(100)).annotations({
  description: "Labels of the board, each by id or by title (case-insensitive)"
})
const Assignees = Schema.Array(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))).pipe(Schema.maxItems(100)).annotations({
  description: "User ids of board members"
})
const IfMatch = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
  description: "The card's etag as you last read it; the change is refused if the card changed since"
})

// ---------------------------------------------------------------------------
// Output

const LabelOutput = Schema.Struct({ id: Schema.Number, title: Schema.String, color: Schema.optional(Schema.String) })

const CardOutput = Schema.Struct({
  id: Schema.Number,
  board_id: Schema.Number,
  stack_id: Schema.Number,
  title: Schema.String,
  description: Schema.String,
  order: Schema.Number,
  archived: Schema.Boolean,
  due: Schema.NullOr(Schema.String.annotations({ description: "RFC 3339" })),
  done: Schema.NullOr(Schema.String.annotations({ description: "When it was marked done (RFC 3339)" })),
  labels: Schema.Array(LabelOutput),
  assignees: Schema.Array(Schema.String),
  owner: Schema.optional(Schema.String),
  etag: Schema.optional(Schema.String.annotations({ description: "Pass as if_match to nc_deck_update_card / nc_deck_delete_card" })),
  url: Schema.String
})
type CardOutput = typeof CardOutput.Type

const StackOutput = Schema.Struct({
  id: Schema.Number,
  title: Schema.String,
  order: Schema.Number,
  card_count: Schema.Number.annotations({ description: "Cards in the stack (archived ones only if asked for)" }),
  cards: Schema.Array(CardOutput)
})

const BoardOutput = Schema.Struct({
  id: Schema.Number,
  title: Schema.String,
  color: Schema.optional(Schema.String),
  archived: Schema.Boolean,
  owner: Schema.optional(Schema.String),
  can_edit: Schema.Boolean,
  labels: Schema.Array(LabelOutput),
  members: Schema.optional(Schema.Array(Schema.String)),
  url: Schema.String
})
type BoardOutput = typeof BoardOutput.Type

const uidOf = (owner: string | DeckUser | undefined): string | undefined => (typeof owner === "object" ? owner.uid : owner)

const labelOutput = (label: Label) => ({ id: label.id, title: label.title, ...(label.color ? { color: label.color } : {}) })

const webUrl = (path: string) => Effect.map(NextcloudConfig, ({ host }) => underBase(host, `index.php/apps/deck/${path}`).href)

const cardOutput = (boardId: number, card: Card, boardUrl: string, etag?: string): CardOutput => {
  const owner = uidOf(card.owner)
  const tag = etag ?? card.ETag
  return {
    id: card.id,
    board_id: boardId,
    stack_id: card.stackId,
    title: card.title,
    description: card.description ?? "",
    order: card.order,
    archived: card.archived,
    due: card.duedate ?? null,
    done: card.done ?? null,
    labels: (card.labels ?? []).map(labelOutput),
    assignees: (card.assignedUsers ?? []).map((a) => a.participant.uid),
    ...(owner !== undefined ? { owner } : {}),
    ...(tag !== undefined ? { etag: tag } : {}),
    url: `${boardUrl}/card/${card.id}`
  }
}

const boardOutput = (board: Board, url: string): BoardOutput => {
  const owner = uidOf(board.owner)
  return {
    id: board.id,
    title: board.title,
    ...(board.color ? { color: board.color } : {}),
    archived: board.archived,
    ...(owner !== undefined ? { owner } : {}),
    can_edit: board.permissions?.PERMISSION_EDIT ?? false,
    labels: (board.labels ?? []).map(labelOutput),
    ...(board.users ? { members: board.users.map((u) => u.uid) } : {}),
    url
  }
}

const offsetOf = (cursor: string | undefined) => (cursor === undefined ? 0 : Number(cursor))

// ---------------------------------------------------------------------------
// Refusals Deck cannot tell apart: 403 means "missing or not yours".

const boardNotFound = (boardId: number) =>
  new NotFound({
    message: `There is no board ${boardId} that you can see in Deck (it may have been deleted or not be shared with you). nc_deck_list_boards shows yours.`
  })

const cardNotFound = (ref: CardRef) =>
  new NotFound({
    message: `There is no card ${ref.cardId} in stack ${ref.stackId} of board ${ref.boardId} that you can see (it may have been deleted). nc_deck_get_board shows the board's cards.`
  })

const mayNotEdit = (boardId: number) =>
  new PermissionDenied({ message: `You may not change cards on board ${boardId}: it is shared with you read-only, or archived.` })

const readBoard = (credentials: Credentials, boardId: number) =>
  Effect.flatMap(Deck, (deck) => deck.getBoard(credentials, boardId)).pipe(
    Effect.catchTag("NextcloudForbidden", () => Effect.fail(boardNotFound(boardId)))
  )

/** The card as Deck has it now, and checks that it is where the caller says. */
const readCard = (credentials: Credentials, ref: CardRef) =>
  Effect.gen(function* () {
    const deck = yield* Deck
    const read = yield* deck.getCard(credentials, ref).pipe(Effect.catchTag("NextcloudForbidden", () => Effect.fail(cardNotFound(ref))))
    if (read.card.stackId !== ref.stackId) {
      return yield* new NotFound({
        message: `Card ${ref.cardId} is not in stack ${ref.stackId} (it is in stack ${read.card.stackId}). nc_deck_get_board shows where each card is.`
      })
    }
    return read
  })

const checkIfMatch = (ref: CardRef, etag: string, ifMatch: string | undefined) =>
  ifMatch === undefined || ifMatch === etag
    ? Effect.void
    : Effect.fail(
        new Conflict({
          message: `Card ${ref.cardId} was changed since you read it (your etag ${ifMatch} is out of date; it is now ${etag}), so nothing was changed. Read it again with nc_deck_get_board and re-apply your change.`
        })
      )

/** Labels by id or title against the board's labels. */
export const resolveLabels = (
  board: Pick<Board, "id" | "labels">,
  wanted: ReadonlyArray<number | string>
): Effect.Effect<ReadonlyArray<number>, InvalidArguments> => {
  const labels = board.labels ?? []
  const ids: Array<number> = []
  const unknown: Array<string> = []
  for (const ref of wanted) {
    const label =
      typeof ref === "number"
        ? labels.find((l) => l.id === ref)
        : labels.find((l) => l.title.toLocaleLowerCase() === ref.toLocaleLowerCase()) ??
          (/^\d+$/.test(ref) ? labels.find((l) => l.id === Number(ref)) : undefined)
    if (label === undefined) unknown.push(String(ref))
    else if (!ids.includes(label.id)) ids.push(label.id)
  }
  if (unknown.length === 0) return Effect.succeed(ids)
  const known = labels.map((l) => `${l.id} "${l.title}"`).join(", ")
  return Effect.fail(
    new InvalidArguments({
      message: `Board ${board.id} has no label ${unknown.map((u) => `"${u}"`).join(", ")}. Its labels: ${known === "" ? "none" : known}. Nothing was changed.`
    })
  )
}

const checkAssignees = (board: Board, wanted: ReadonlyArray<string>): Effect.Effect<void, InvalidArguments> => {
  const members = new Set((board.users ?? []).map((u) => u.uid))
  const strangers = wanted.filter((uid) => !members.has(uid))
  return strangers.length === 0
    ? Effect.void
    : Effect.fail(
        new InvalidArguments({
          message: `${strangers.map((s) => `"${s}"`).join(", ")} ${strangers.length === 1 ? "is" : "are"} not a member of board ${board.id}, so cannot be assigned (members: ${[...members].join(", ") || "none"}). Nothing was changed.`
        })
      )
}

/** Applies the label and assignee sets, one call per difference, as Deck's API does it. */
const applySets = (
  credentials: Credentials,
  ref: CardRef,
  card: Card,
  labels: ReadonlyArray<number> | undefined,
  assignees: ReadonlyArray<string> | undefined
) =>
  Effect.gen(function* () {
    const deck = yield* Deck
    if (labels !== undefined) {
      const current = (card.labels ?? []).map((l) => l.id)
      for (const id of labels) if (!current.includes(id)) yield* deck.assignLabel(credentials, ref, id)
      for (const id of current) if (!labels.includes(id)) yield* deck.removeLabel(credentials, ref, id)
    }
    if (assignees !== undefined) {
      const current = (card.assignedUsers ?? []).map((a) => a.participant.uid)
      for (const uid of assignees) if (!current.includes(uid)) yield* deck.assignUser(credentials, ref, uid)
      for (const uid of current) if (!assignees.includes(uid)) yield* deck.unassignUser(credentials, ref, uid)
    }
  })

// ---------------------------------------------------------------------------

export const ListBoardsInput = Schema.Struct({
  include_archived: Schema.optional(Schema.Boolean.annotations({ description: "Include archived boards (default false)" })),
  limit: Schema.optional(Limit),
  cursor: Schema.optional(Cursor)
})

export const listBoards = Tool.make({
  name: "nc_deck_list_boards",
  title: "List Deck Boards",
  description:
    "List your Deck boards (your own and those shared with you): id, title, labels, whether you can edit, url. " +
    "Archived boards only with include_archived. Page with limit and next_cursor.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["deck.read"],
  input: ListBoardsInput,
  output: Tool.response(["ok", "error"], {
    boards: Schema.optional(Schema.Array(BoardOutput)),
    count: Schema.optional(Schema.Number),
    next_cursor: Schema.optional(Schema.NullOr(Schema.String))
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const deck = yield* Deck
      const all = yield* deck.listBoards(credentialsOf(grant)).pipe(whileTrying("list your Deck boards"))
      const visible = all.filter((b) => (b.deletedAt ?? 0) === 0 && (input.include_archived === true || !b.archived))
      const offset = offsetOf(input.cursor)
      const limit = input.limit ?? DEFAULT_LIMIT
      const page = visible.slice(offset, offset + limit)
      const next = offset + limit < visible.length ? String(offset + limit) : null
      const boards: Array<BoardOutput> = []
      for (const board of page) boards.push(boardOutput(board, yield* webUrl(`board/${board.id}`)))
      return {
        status: "ok",
        message: `${page.length} board(s)${next === null ? "" : ` of ${visible.length}; more follow: pass next_cursor as cursor`}.`,
        boards,
        count: page.length,
        next_cursor: next
      } as const
    })
})

// ---------------------------------------------------------------------------

export const GetBoardInput = Schema.Struct({
  board_id: BoardId,
  include_archived_cards: Schema.optional(
    Schema.Boolean.annotations({ description: "Also list archived cards (in archived_cards of each stack; default false)" })
  ),
  limit: Schema.optional(Limit.annotations({ description: `At most this many cards over all stacks, 1–${MAX_LIMIT} (default ${DEFAULT_LIMIT})` })),
  cursor: Schema.optional(Cursor)
})

export const getBoard = Tool.make({
  name: "nc_deck_get_board",
  title: "Get Deck Board",
  description:
    "Read a board with its stacks (columns) in order and their cards in order: titles, descriptions, due dates, labels, assignees, etags. " +
    "Archived cards only with include_archived_cards. Cards are paged over all stacks with limit and next_cursor.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["deck.read"],
  input: GetBoardInput,
  output: Tool.response(["ok", "error"], {
    board: Schema.optional(BoardOutput),
    stacks: Schema.optional(Schema.Array(StackOutput)),
    count: Schema.optional(Schema.Number.annotations({ description: "Cards in this answer" })),
    next_cursor: Schema.optional(Schema.NullOr(Schema.String))
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const deck = yield* Deck
      const credentials = credentialsOf(grant)
      const action = `read board ${input.board_id}`
      const board = yield* readBoard(credentials, input.board_id).pipe(whileTrying(action))
      const stacks = yield* deck
        .listStacks(credentials, input.board_id)
        .pipe(Effect.catchTag("NextcloudForbidden", () => Effect.fail(boardNotFound(input.board_id))), whileTrying(action))
      const archived =
        input.include_archived_cards === true
          ? yield* deck.listArchivedStacks(credentials, input.board_id).pipe(whileTrying(action))
          : []
      const archivedOf = new Map<number, ReadonlyArray<Card>>(archived.map((s) => [s.id, s.cards ?? []]))
      const ordered = [...stacks].sort((a, b) => a.order - b.order || a.id - b.id)
      const cardsOf = (stack: Stack): ReadonlyArray<Card> => [
        ...[...(stack.cards ?? [])].sort((a, b) => a.order - b.order || a.id - b.id),
        ...(archivedOf.get(stack.id) ?? [])
      ]
      const total = ordered.reduce((n, s) => n + cardsOf(s).length, 0)
      const offset = offsetOf(input.cursor)
      const limit = input.limit ?? DEFAULT_LIMIT
      const boardUrl = yield* webUrl(`board/${board.id}`)
      let seen = 0
      const out = ordered.map((stack) => {
        const cards = cardsOf(stack)
        const from = Math.max(0, offset - seen)
        const to = Math.max(0, offset + limit - seen)
        seen += cards.length
        return {
          id: stack.id,
          title: stack.title,
          order: stack.order,
          card_count: cards.length,
          cards: cards.slice(from, to).map((c) => cardOutput(board.id, c, boardUrl))
        }
      })
      const count = out.reduce((n, s) => n + s.cards.length, 0)
      const next = offset + limit < total ? String(offset + limit) : null
      return {
        status: "ok",
        message:
          `Board ${board.id} "${board.title}": ${out.length} stack(s), ${total} card(s)` +
          `${input.include_archived_cards === true ? " including archived ones" : ""}` +
          `${next === null ? "." : `; showing ${count}, more follow: pass next_cursor as cursor.`}`,
        board: boardOutput(board, boardUrl),
        stacks: out,
        count,
        next_cursor: next
      } as const
    })
})

// ---------------------------------------------------------------------------

const CardResult = Schema.optional(CardOutput)

export const CreateCardInput = Schema.Struct({
  board_id: BoardId,
  stack_id: StackId,
  title: Title,
  description: Schema.optional(Description),
  due: Schema.optional(DueDate),
  labels: Schema.optional(Labels),
  assignees: Schema.optional(Assignees)
})

export const createCard = Tool.make({
  name: "nc_deck_create_card",
  title: "Create Deck Card",
  description:
    "Create a card at the end of a stack, with an optional description (Markdown), due date, labels (by id or title) and assignees (board members). " +
    "Returns the card with its etag and url.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  scopes: ["deck.write"],
  input: CreateCardInput,
  output: Tool.response(["created", "error"], { card: CardResult }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const deck = yield* Deck
      const credentials = credentialsOf(grant)
      const action = `create a card on board ${input.board_id}`
      const board = yield* readBoard(credentials, input.board_id).pipe(whileTrying(action))
      const stacks = yield* deck.listStacks(credentials, input.board_id).pipe(whileTrying(action))
      if (!stacks.some((s) => s.id === input.stack_id)) {
        return yield* new NotFound({
          message: `Board ${input.board_id} has no stack ${input.stack_id} (its stacks: ${stacks.map((s) => `${s.id} "${s.title}"`).join(", ") || "none"}).`
        })
      }
      if (board.permissions?.PERMISSION_EDIT === false) return yield* mayNotEdit(input.board_id)
      const labels = input.labels === undefined ? undefined : yield* resolveLabels(board, input.labels)
      if (input.assignees !== undefined) yield* checkAssignees(board, input.assignees)
      const created = yield* deck
        .createCard(credentials, input.board_id, input.stack_id, {
          title: input.title,
          ...(input.description !== undefined ? { description: input.description } : {}),
          ...(input.due !== undefined ? { duedate: input.due } : {})
        })
        .pipe(Effect.catchTag("NextcloudForbidden", () => Effect.fail(mayNotEdit(input.board_id))), whileTrying(action))
      const ref = { boardId: input.board_id, stackId: input.stack_id, cardId: created.id }
      yield* applySets(credentials, ref, { ...created, labels: [], assignedUsers: [] }, labels, input.assignees).pipe(
        whileTrying(`label and assign the new card ${created.id}`)
      )
      const read = yield* deck.getCard(credentials, ref).pipe(whileTrying(`read the new card ${created.id}`))
      const boardUrl = yield* webUrl(`board/${input.board_id}`)
      return {
        status: "created",
        message: `Created card ${created.id} "${created.title}" in stack ${input.stack_id}.`,
        card: cardOutput(input.board_id, read.card, boardUrl, read.etag)
      } as const
    })
})

// ---------------------------------------------------------------------------

const CardAddress = {
  board_id: BoardId,
  stack_id: StackId,
  card_id: CardId
}

export const UpdateCardInput = Schema.Struct({
  ...CardAddress,
  if_match: Schema.optional(IfMatch),
  title: Schema.optional(Title),
  description: Schema.optional(Description),
  due: Schema.optional(Schema.NullOr(DueDate).annotations({ description: "RFC 3339 date-time with an offset; null removes the due date" })),
  labels: Schema.optional(Labels.annotations({ description: "The card's labels afterwards (replaces the set), each by id or title" })),
  assignees: Schema.optional(Assignees.annotations({ description: "The card's assignees afterwards (replaces the set): user ids of board members" }))
})

const refOf = (input: { readonly board_id: number; readonly stack_id: number; readonly card_id: number }): CardRef => ({
  boardId: input.board_id,
  stackId: input.stack_id,
  cardId: input.card_id
})

export const updateCard = Tool.make({
  name: "nc_deck_update_card",
  title: "Update Deck Card",
  description:
    "Change a card's title, description, due date (null removes it), labels or assignees (each given as the complete new set). " +
    "Pass if_match (the etag you read) to refuse the change if the card changed meanwhile. Other card fields are kept.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["deck.write"],
  input: UpdateCardInput,
  output: Tool.response(["updated", "error"], { card: CardResult }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const { board_id, stack_id, card_id, if_match, labels: wantedLabels, assignees, ...fields } = input
      if (Object.keys(fields).length === 0 && wantedLabels === undefined && assignees === undefined) {
        return yield* new InvalidArguments({ message: "Nothing to change: give title, description, due, labels and/or assignees." })
      }
      const deck = yield* Deck
      const credentials = credentialsOf(grant)
      const ref = refOf(input)
      const action = `update card ${card_id}`
      const board =
        wantedLabels !== undefined || assignees !== undefined ? yield* readBoard(credentials, board_id).pipe(whileTrying(action)) : null
      const labels = board === null || wantedLabels === undefined ? undefined : yield* resolveLabels(board, wantedLabels)
      if (board !== null && assignees !== undefined) yield* checkAssignees(board, assignees)
      const { card, etag } = yield* readCard(credentials, ref).pipe(whileTrying(action))
      yield* checkIfMatch(ref, etag, if_match)
      if (card.archived && (labels !== undefined || assignees !== undefined)) {
        return yield* new InvalidArguments({ message: `Card ${card_id} is archived: Deck does not change its labels. Nothing was changed.` })
      }
      if (Object.keys(fields).length > 0) {
        const owner = uidOf(card.owner)
        if (owner === undefined) {
          // Deck's update must be sent the owner; guessing one would hand the card to someone else.
          return yield* new NextcloudError({ message: `Deck answered card ${card_id} without its owner, so it was not changed.` })
        }
        const body: CardUpdate = {
          title: fields.title ?? card.title,
          type: card.type ?? "plain",
          owner,
          description: fields.description ?? card.description ?? "",
          order: card.order,
          duedate: fields.due !== undefined ? fields.due : card.duedate ?? null,
          startdate: card.startdate ?? null,
          done: card.done ?? null,
          archived: card.archived,
          ...(card.color !== undefined ? { color: card.color } : {})
        }
        yield* deck
          .updateCard(credentials, ref, body)
          .pipe(Effect.catchTag("NextcloudForbidden", () => Effect.fail(mayNotEdit(board_id))), whileTrying(action))
      }
      yield* applySets(credentials, ref, card, labels, assignees).pipe(
        Effect.catchTag("NextcloudForbidden", () => Effect.fail(mayNotEdit(board_id))),
        whileTrying(action)
      )
      const after = yield* deck.getCard(credentials, ref).pipe(whileTrying(`read card ${card_id} after updating it`))
      const boardUrl = yield* webUrl(`board/${board_id}`)
      return {
        status: "updated",
        message: `Updated card ${card_id} "${after.card.title}". Its new etag is ${after.etag}.`,
        card: cardOutput(board_id, after.card, boardUrl, after.etag)
      } as const
    })
})

// ---------------------------------------------------------------------------

export const MoveCardInput = Schema.Struct({
  ...CardAddress,
  to_stack_id: Schema.optional(Id("The stack to move it to (default: the same stack)")),
  position: Schema.Number.pipe(Schema.int(), Schema.between(0, 100_000)).annotations({
    description: "0-based position in the target stack (0 = top); a position past the end puts it last"
  })
})

const StackOrder = Schema.Array(Schema.Struct({ id: Schema.Number, title: Schema.String, order: Schema.Number }))

export const moveCard = Tool.make({
  name: "nc_deck_move_card",
  title: "Move Deck Card",
  description:
    "Move a card to a position in its stack or in another stack of the same board. Deck renumbers the target stack; " +
    "the answer lists that stack's cards in their new order.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["deck.write"],
  input: MoveCardInput,
  output: Tool.response(["moved", "error"], {
    card: CardResult,
    stack_cards: Schema.optional(StackOrder.annotations({ description: "The target stack's cards after the move, in order" }))
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const deck = yield* Deck
      const credentials = credentialsOf(grant)
      const ref = refOf(input)
      const target = input.to_stack_id ?? input.stack_id
      const action = `move card ${input.card_id}`
      const { card } = yield* readCard(credentials, ref).pipe(whileTrying(action))
      if (card.archived) {
        return yield* new InvalidArguments({ message: `Card ${input.card_id} is archived: Deck does not move archived cards.` })
      }
      if (target !== input.stack_id) {
        const stacks = yield* deck.listStacks(credentials, input.board_id).pipe(whileTrying(action))
        if (!stacks.some((s) => s.id === target)) {
          return yield* new NotFound({
            message: `Board ${input.board_id} has no stack ${target} (its stacks: ${stacks.map((s) => `${s.id} "${s.title}"`).join(", ") || "none"}). Cards move within their board.`
          })
        }
      }
      const cards = yield* deck
        .reorderCard(credentials, ref, target, input.position)
        .pipe(Effect.catchTag("NextcloudForbidden", () => Effect.fail(mayNotEdit(input.board_id))), whileTrying(action))
      const inOrder = [...cards].sort((a, b) => a.order - b.order || a.id - b.id)
      const moved = inOrder.find((c) => c.id === input.card_id)
      const boardUrl = yield* webUrl(`board/${input.board_id}`)
      const position = inOrder.findIndex((c) => c.id === input.card_id)
      return {
        status: "moved",
        message: `Moved card ${input.card_id} to position ${position < 0 ? input.position : position} of stack ${target}.`,
        ...(moved !== undefined ? { card: cardOutput(input.board_id, moved, boardUrl) } : {}),
        stack_cards: inOrder.map((c) => ({ id: c.id, title: c.title, order: c.order }))
      } as const
    })
})

// ---------------------------------------------------------------------------

export const DeleteCardInput = Schema.Struct({ ...CardAddress, if_match: Schema.optional(IfMatch) })

export const deleteCard = Tool.make({
  name: "nc_deck_delete_card",
  title: "Delete Deck Card",
  description: "Delete a card (Deck keeps it in the board's deleted items for a while). Pass if_match to refuse if it changed meanwhile.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["deck.write"],
  input: DeleteCardInput,
  output: Tool.response(["deleted", "error"], { card_id: Schema.optional(Schema.Number) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const deck = yield* Deck
      const credentials = credentialsOf(grant)
      const ref = refOf(input)
      const action = `delete card ${input.card_id}`
      const { card, etag } = yield* readCard(credentials, ref).pipe(whileTrying(action))
      yield* checkIfMatch(ref, etag, input.if_match)
      yield* deck
        .deleteCard(credentials, ref)
        .pipe(Effect.catchTag("NextcloudForbidden", () => Effect.fail(mayNotEdit(input.board_id))), whileTrying(action))
      return { status: "deleted", message: `Deleted card ${input.card_id} "${card.title}".`, card_id: input.card_id } as const
    })
})

// ---------------------------------------------------------------------------

export const CommentCardInput = Schema.Struct({
  ...CardAddress,
  message: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1000)).annotations({
    description: "The comment, at most 1000 characters; @user mentions are parsed by Nextcloud"
  })
})

export const commentCard = Tool.make({
  name: "nc_deck_comment_card",
  title: "Comment on Deck Card",
  description: "Add a comment to a card.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  scopes: ["deck.write"],
  input: CommentCardInput,
  output: Tool.response(["created", "error"], {
    comment: Schema.optional(
      Schema.Struct({
        id: Schema.String,
        card_id: Schema.Number,
        message: Schema.String,
        author: Schema.String,
        created: Schema.String,
        url: Schema.String
      })
    )
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      if (input.message.trim() === "") return yield* new InvalidArguments({ message: "The comment is empty." })
      const deck = yield* Deck
      const credentials = credentialsOf(grant)
      const ref = refOf(input)
      const action = `comment on card ${input.card_id}`
      yield* readCard(credentials, ref).pipe(whileTrying(action))
      const comment = yield* deck
        .addComment(credentials, input.card_id, input.message)
        .pipe(Effect.catchTag("NextcloudForbidden", () => Effect.fail(cardNotFound(ref))), whileTrying(action))
      const url = yield* webUrl(`board/${input.board_id}/card/${input.card_id}`)
      return {
        status: "created",
        message: `Commented on card ${input.card_id}.`,
        comment: {
          id: String(comment.id),
          card_id: input.card_id,
          message: comment.message,
          author: comment.actorId,
          created: comment.creationDateTime,
          url
        }
      } as const
    })
})

export const deckTools = [listBoards, getBoard, createCard, updateCard, moveCard, deleteCard, commentCard] as const
