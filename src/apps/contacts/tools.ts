/**
 * Contacts tools over CardDAV (docs/tool-contract.md §7): address books,
 * search, get, create, update, delete. Reads need `contacts.read`, writes
 * `contacts.write`.
 *
 * A contact is `{ id, addressbook_id, full_name, emails, phones, org, note,
 * birthday, addresses, etag, url }`; `id` is the card's file name in its
 * address book, whatever it is. Updates change only the fields given and
 * leave every other line of the vCard as it was (vcard.ts).
 */
import { randomUUID } from "node:crypto"
import { Effect, Either, Schema } from "effect"
import { Conflict, InvalidArguments, NotFound, PermissionDenied } from "../../domain/Errors.js"
import { sameEtag } from "../../nextcloud/davObjects.js"
import { underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { DavAccount } from "../../nextcloud/Ocs.js"
import { davAccountOf } from "../../tools/account.js"
import { whileTrying } from "../../tools/nextcloudFailures.js"
import * as Tool from "../../tools/Tool.js"
import { type AddressBook, type Card, CardDav, SYSTEM_ADDRESSBOOK } from "./Client.js"
import {
  type ContactFields,
  type ContactPatch,
  applyPatch,
  newVCard,
  parseVCard,
  readFields,
  serializeVCard,
  validBirthday
} from "./vcard.js"

// --- schemas -------------------------------------------------------------------

/** No control characters but tab and line breaks: a vCard value cannot carry them. */
const noControls = (s: string) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s)

const Text = (max: number, description: string) =>
  Schema.String.pipe(
    Schema.maxLength(max),
    Schema.filter((s) => noControls(s) || "control characters are not allowed")
  ).annotations({ description })

const Id = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(255),
  Schema.filter((s) => (noControls(s) && !s.includes("/") && s !== "." && s !== "..") || "not a valid id")
)
const AddressBookId = Id.annotations({ description: "The address book's id (from nc_contacts_list_addressbooks), e.g. contacts" })
const ContactId = Id.annotations({ description: "The contact's id (from nc_contacts_search or nc_contacts_get)" })
const Email = Text(254, "An email address").pipe(Schema.minLength(1))
const Phone = Text(64, "A phone number, as written").pipe(Schema.minLength(1))
const Birthday = Schema.String.pipe(
  Schema.filter((s) => validBirthday(s) || "a date YYYY-MM-DD, or --MM-DD without a year", {
    // Random strings are almost never dates: generate dates for property tests.
    arbitrary: () => (fc) =>
      fc.oneof(
        fc.date({ min: new Date("1600-01-01T00:00:00Z"), max: new Date("2100-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
        fc.constantFrom("--02-29", "--01-01", "--12-31")
      ),
    jsonSchema: { pattern: "^(\\d{4}|-)-\\d{2}-\\d{2}$" }
  })
).annotations({ description: "YYYY-MM-DD, or --MM-DD when the year is unknown" })

const AddressInput = Schema.Struct({
  street: Schema.optional(Text(500, "Street and number")),
  city: Schema.optional(Text(200, "City or locality")),
  region: Schema.optional(Text(200, "State, province or region")),
  postal_code: Schema.optional(Text(50, "Postal code")),
  country: Schema.optional(Text(200, "Country")),
  po_box: Schema.optional(Text(100, "Post office box")),
  extended: Schema.optional(Text(200, "Extended address (apartment, suite)"))
})

const AddressOutput = Schema.Struct({
  street: Schema.String,
  city: Schema.String,
  region: Schema.String,
  postal_code: Schema.String,
  country: Schema.String,
  po_box: Schema.String,
  extended: Schema.String
})

const ContactOutput = Schema.Struct({
  id: Schema.String,
  addressbook_id: Schema.String,
  uid: Schema.NullOr(Schema.String),
  full_name: Schema.NullOr(Schema.String),
  emails: Schema.Array(Schema.String),
  phones: Schema.Array(Schema.String),
  org: Schema.NullOr(Schema.String.annotations({ description: "The organisation's name" })),
  note: Schema.NullOr(Schema.String),
  birthday: Schema.NullOr(Schema.String.annotations({ description: "YYYY-MM-DD, or --MM-DD without a year" })),
  addresses: Schema.Array(AddressOutput),
  etag: Schema.NullOr(Schema.String.annotations({ description: "Pass as if_match to update or delete only this version" })),
  url: Schema.NullOr(Schema.String.annotations({ description: "The contact in Nextcloud's Contacts app" }))
})
type ContactOutput = typeof ContactOutput.Type

const AddressBookOutput = Schema.Struct({ id: Schema.String, name: Schema.String, read_only: Schema.Boolean })

const IfMatch = Schema.optional(
  Schema.String.pipe(Schema.minLength(1), Schema.maxLength(300)).annotations({
    description: "The etag a read returned: the change is made only if the contact is still at that version"
  })
)

const readAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true } as const

// --- helpers -------------------------------------------------------------------

const webUrl = (publicUrl: URL, uid: string | null, addressbookId: string): string | null =>
  uid === null ? null : underBase(publicUrl, `index.php/apps/contacts/direct/contact/${encodeURIComponent(`${uid}~${addressbookId}`)}`).href

const contactOf = (publicUrl: URL, card: Card, fields: ContactFields): ContactOutput => ({
  id: card.id,
  addressbook_id: card.addressbookId,
  uid: fields.uid,
  full_name: fields.full_name,
  emails: [...fields.emails],
  phones: [...fields.phones],
  org: fields.org,
  note: fields.note,
  birthday: fields.birthday,
  addresses: fields.addresses.map((a) => ({ ...a })),
  etag: card.etag,
  url: webUrl(publicUrl, fields.uid, card.addressbookId)
})

const unreadable = (card: Card, reason: string) =>
  new InvalidArguments({ message: `The contact ${card.id} in ${card.addressbookId} is not a readable vCard (${reason}); nothing was changed.` })

const fieldsOf = (card: Card) => {
  const parsed = parseVCard(card.body)
  return Either.isLeft(parsed) ? Either.left(parsed.left) : Either.right({ card: parsed.right, fields: readFields(parsed.right) })
}

const contactNotFound = (addressbookId: string, id: string) =>
  new NotFound({ message: `There is no contact ${id} in address book ${addressbookId} (it may have been deleted). nc_contacts_search lists contacts.` })

const bookNotFound = (addressbookId: string) =>
  new NotFound({ message: `There is no address book ${addressbookId}. nc_contacts_list_addressbooks lists yours.` })

const stale = (id: string) =>
  new Conflict({ message: `The contact ${id} was changed since that etag was read; nothing was changed. Read it again with nc_contacts_get.` })

const readOnlyBook = (book: AddressBook) =>
  new PermissionDenied({
    message: `The address book ${book.id} (${book.name}) is read-only${book.id === SYSTEM_ADDRESSBOOK ? ": it lists this Nextcloud's accounts" : ""}. Use a writable one from nc_contacts_list_addressbooks.`
  })

/** The book by id, from the listing (its read-only flag included). */
const findBook = (account: DavAccount, addressbookId: string) =>
  Effect.gen(function* () {
    const cardDav = yield* CardDav
    const books = yield* cardDav.addressBooks(account)
    const book = books.find((b) => b.id === addressbookId)
    return book === undefined ? yield* bookNotFound(addressbookId) : book
  })

const asRef = (account: DavAccount, addressbookId: string) =>
  Effect.flatMap(CardDav, (c) => c.bookUrl(account, addressbookId)).pipe(Effect.map((url) => ({ id: addressbookId, url })))

/** The fields a create or update input gives (the tool inputs carry more; only these are taken). */
const patchOf = (input: ContactPatch): ContactPatch => ({
  ...(input.full_name !== undefined ? { full_name: input.full_name } : {}),
  ...(input.emails !== undefined ? { emails: input.emails } : {}),
  ...(input.phones !== undefined ? { phones: input.phones } : {}),
  ...(input.org !== undefined ? { org: input.org } : {}),
  ...(input.note !== undefined ? { note: input.note } : {}),
  ...(input.birthday !== undefined ? { birthday: input.birthday } : {}),
  ...(input.addresses !== undefined ? { addresses: input.addresses } : {})
})

// --- list address books ------------------------------------------------------------

export const ListAddressBooksOutput = Tool.response(["ok", "error"], { addressbooks: Schema.optional(Schema.Array(AddressBookOutput)) })

export const listAddressBooks = Tool.make({
  name: "nc_contacts_list_addressbooks",
  title: "List Address Books",
  description: "List your Nextcloud address books: id, name, and whether they are read-only (the system address book of accounts is).",
  annotations: readAnnotations,
  scopes: ["contacts.read"],
  input: Tool.NoArguments,
  output: ListAddressBooksOutput,
  handler: (_input, { grant }) =>
    Effect.gen(function* () {
      const account = yield* davAccountOf(grant)
      const cardDav = yield* CardDav
      const books = yield* cardDav.addressBooks(account).pipe(whileTrying("list your address books"))
      return {
        status: "ok",
        message: `${books.length} address book(s): ${books.map((b) => `${b.id}${b.readOnly ? " (read-only)" : ""}`).join(", ")}.`,
        addressbooks: books.map((b) => ({ id: b.id, name: b.name, read_only: b.readOnly }))
      } as const
    })
})

// --- search ------------------------------------------------------------------------

export const SearchInput = Schema.Struct({
  query: Text(200, "Text to find in names, emails, phone numbers and organisations (case-insensitive); \"\" lists every contact"),
  addressbook_id: Schema.optional(AddressBookId.annotations({ description: "Only this address book (default: all)" })),
  limit: Schema.optional(
    Schema.Number.pipe(Schema.int(), Schema.between(1, 500)).annotations({ description: "Contacts per page, 1–500 (default 50)" })
  ),
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(1000)).annotations({ description: "next_cursor of the previous page" }))
})

export const SearchOutput = Tool.response(["ok", "error"], {
  contacts: Schema.optional(Schema.Array(ContactOutput)),
  count: Schema.optional(Schema.Number),
  total_matches: Schema.optional(Schema.Number),
  next_cursor: Schema.optional(Schema.NullOr(Schema.String)),
  partial: Schema.optional(
    Schema.Boolean.annotations({ description: "The server could not search, and only the first cards of a large address book were searched" })
  )
})

interface CursorState {
  readonly v: 1
  readonly o: number
  readonly q: string
  readonly b: string | null
}

const encodeCursor = (state: CursorState) => Buffer.from(JSON.stringify(state)).toString("base64url")

const decodeCursor = (cursor: string, query: string, book: string | null): Either.Either<number, string> => {
  const parsed = Either.try(() => JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Partial<CursorState>)
  if (Either.isLeft(parsed) || typeof parsed.right !== "object" || parsed.right === null) return Either.left("the cursor is not one this tool handed out")
  const c = parsed.right
  if (c.v !== 1 || typeof c.o !== "number" || !Number.isSafeInteger(c.o) || c.o < 0) return Either.left("the cursor is not one this tool handed out")
  if (c.q !== query || (c.b ?? null) !== book) return Either.left("the cursor belongs to another search: pass the same query and addressbook_id")
  return Either.right(c.o)
}

const localMatch = (query: string) => {
  const q = query.normalize("NFKC").toLowerCase()
  return (card: Card): boolean => {
    if (q === "") return true
    const parsed = fieldsOf(card)
    if (Either.isLeft(parsed)) return false
    const f = parsed.right.fields
    return [f.full_name ?? "", f.org ?? "", ...f.emails, ...f.phones].some((v) => v.normalize("NFKC").toLowerCase().includes(q))
  }
}

export const searchContacts = Tool.make({
  name: "nc_contacts_search",
  title: "Search Contacts",
  description:
    "Find contacts whose name, email, phone number or organisation contains the query (case-insensitive), in all address books or one. " +
    "Returns each contact's fields and etag; page with limit and next_cursor. An empty query lists every contact.",
  annotations: readAnnotations,
  scopes: ["contacts.read"],
  input: SearchInput,
  output: SearchOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const account = yield* davAccountOf(grant)
      const cardDav = yield* CardDav
      const { publicUrl } = yield* NextcloudConfig
      const query = input.query.trim()
      const bookFilter = input.addressbook_id ?? null
      const offset = input.cursor === undefined ? Either.right(0) : decodeCursor(input.cursor, query, bookFilter)
      if (Either.isLeft(offset)) return yield* new InvalidArguments({ message: `Invalid cursor: ${offset.left}.` })
      const limit = input.limit ?? 50
      const books = yield* cardDav.addressBooks(account).pipe(whileTrying("list your address books"))
      const searched = bookFilter === null ? books : books.filter((b) => b.id === bookFilter)
      if (searched.length === 0 && bookFilter !== null) return yield* bookNotFound(bookFilter)
      const match = localMatch(query)
      const hits: Array<{ book: AddressBook; id: string; url: URL; card: Card | null }> = []
      let partial = false
      for (const book of searched) {
        const found = yield* cardDav.search(account, book, query, match).pipe(whileTrying(`search the address book ${book.id}`))
        partial ||= found.partial
        const cards = new Map((found.cards ?? []).map((c) => [c.id, c]))
        const refs = [...found.refs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        for (const ref of refs) hits.push({ book, id: ref.id, url: ref.url, card: cards.get(ref.id) ?? null })
      }
      const page = hits.slice(offset.right, offset.right + limit)
      const contacts: Array<ContactOutput> = []
      let unreadableCount = 0
      for (const book of searched) {
        const inBook = page.filter((h) => h.book.id === book.id)
        const missing = inBook.filter((h) => h.card === null)
        const fetched =
          missing.length === 0
            ? []
            : yield* cardDav.multiget(account, book, missing.map((h) => h.url)).pipe(whileTrying(`read contacts of ${book.id}`))
        const byId = new Map([...inBook.flatMap((h) => (h.card === null ? [] : [[h.id, h.card] as const])), ...fetched.map((c) => [c.id, c] as const)])
        for (const hit of inBook) {
          const card = byId.get(hit.id)
          if (card === undefined) continue
          const parsed = fieldsOf(card)
          if (Either.isLeft(parsed)) {
            unreadableCount++
            continue
          }
          contacts.push(contactOf(publicUrl, card, parsed.right.fields))
        }
      }
      const next = offset.right + limit < hits.length ? encodeCursor({ v: 1, o: offset.right + limit, q: query, b: bookFilter }) : null
      const notes = [
        next === null ? "" : " More follow: pass next_cursor as cursor.",
        partial ? " The server could not search, so only the first cards of a large address book were searched here." : "",
        unreadableCount > 0 ? ` ${unreadableCount} card(s) could not be read as vCards and are left out.` : ""
      ].join("")
      return {
        status: "ok",
        message: `${hits.length} contact(s) match${query === "" ? "" : ` "${query}"`}; showing ${contacts.length}.${notes}`,
        contacts,
        count: contacts.length,
        total_matches: hits.length,
        next_cursor: next,
        ...(partial ? { partial } : {})
      } as const
    })
})

// --- get ---------------------------------------------------------------------------

export const GetInput = Schema.Struct({ addressbook_id: AddressBookId, id: ContactId })
export const GetOutput = Tool.response(["ok", "error"], { contact: Schema.optional(ContactOutput) })

export const getContact = Tool.make({
  name: "nc_contacts_get",
  title: "Get Contact",
  description: "Read one contact: names, emails, phones, organisation, note, birthday, addresses, and its etag (for if_match).",
  annotations: readAnnotations,
  scopes: ["contacts.read"],
  input: GetInput,
  output: GetOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const account = yield* davAccountOf(grant)
      const cardDav = yield* CardDav
      const { publicUrl } = yield* NextcloudConfig
      const book = yield* asRef(account, input.addressbook_id).pipe(whileTrying("find your address books"))
      const card = yield* cardDav.get(account, book, input.id).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(contactNotFound(input.addressbook_id, input.id))),
        whileTrying(`read the contact ${input.id}`)
      )
      const parsed = fieldsOf(card)
      if (Either.isLeft(parsed)) return yield* unreadable(card, parsed.left)
      const contact = contactOf(publicUrl, card, parsed.right.fields)
      return { status: "ok", message: `Contact ${contact.full_name ?? card.id} in ${card.addressbookId}.`, contact } as const
    })
})

// --- create ------------------------------------------------------------------------

const Emails = Schema.Array(Email).pipe(Schema.maxItems(50)).annotations({ description: "Email addresses" })
const Phones = Schema.Array(Phone).pipe(Schema.maxItems(50)).annotations({ description: "Phone numbers" })
const Addresses = Schema.Array(AddressInput).pipe(Schema.maxItems(20)).annotations({ description: "Postal addresses" })
const FullName = Text(500, "The name as shown, e.g. Ada Lovelace").pipe(
  Schema.filter((s) => s.trim() !== "" || "a contact needs a name")
)

export const CreateInput = Schema.Struct({
  addressbook_id: Schema.optional(AddressBookId.annotations({ description: "Where to create it (default: contacts, else the first writable one)" })),
  full_name: FullName,
  emails: Schema.optional(Emails),
  phones: Schema.optional(Phones),
  org: Schema.optional(Text(500, "Organisation")),
  note: Schema.optional(Text(100_000, "A note")),
  birthday: Schema.optional(Birthday),
  addresses: Schema.optional(Addresses)
})
export const WriteOutput = Tool.response(["created", "updated", "unchanged", "error"], { contact: Schema.optional(ContactOutput) })

/** After a write: the card as the server now has it (sabre may have repaired it, and may not have sent an etag). */
const readBack = (account: DavAccount, book: { readonly id: string; readonly url: URL }, id: string) =>
  Effect.flatMap(CardDav, (c) => c.get(account, book, id))

export const createContact = Tool.make({
  name: "nc_contacts_create",
  title: "Create Contact",
  description:
    "Create a contact with a full name and optionally emails, phones, organisation, note, birthday (YYYY-MM-DD or --MM-DD) and addresses. " +
    "Returns it with its id and etag.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  scopes: ["contacts.write"],
  input: CreateInput,
  output: WriteOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const account = yield* davAccountOf(grant)
      const cardDav = yield* CardDav
      const { publicUrl } = yield* NextcloudConfig
      const books = yield* cardDav.addressBooks(account).pipe(whileTrying("list your address books"))
      let book: AddressBook | undefined
      if (input.addressbook_id !== undefined) {
        book = books.find((b) => b.id === input.addressbook_id)
        if (book === undefined) return yield* bookNotFound(input.addressbook_id)
        if (book.readOnly) return yield* readOnlyBook(book)
      } else {
        const writable = books.filter((b) => !b.readOnly)
        book = writable.find((b) => b.id === "contacts") ?? writable[0]
        if (book === undefined) return yield* new PermissionDenied({ message: "You have no writable address book." })
      }
      const uid = randomUUID()
      const id = `${uid}.vcf`
      const card = newVCard("3.0", uid, { ...patchOf(input), full_name: input.full_name })
      yield* cardDav.put(account, book, id, serializeVCard(card), { ifNoneMatch: "*" }).pipe(
        Effect.catchTag("NextcloudForbidden", () => Effect.fail(readOnlyBook(book))),
        whileTrying(`create the contact in ${book.id}`)
      )
      const stored = yield* readBack(account, book, id).pipe(whileTrying("read the new contact back"))
      const parsed = fieldsOf(stored)
      if (Either.isLeft(parsed)) return yield* unreadable(stored, parsed.left)
      const contact = contactOf(publicUrl, stored, parsed.right.fields)
      return { status: "created", message: `Created ${contact.full_name} in ${book.id} (id ${id}).`, contact } as const
    })
})

// --- update ------------------------------------------------------------------------

export const UpdateInput = Schema.Struct({
  addressbook_id: AddressBookId,
  id: ContactId,
  if_match: IfMatch,
  full_name: Schema.optional(FullName),
  emails: Schema.optional(Emails.annotations({ description: "The complete list of email addresses (ones kept keep their type)" })),
  phones: Schema.optional(Phones.annotations({ description: "The complete list of phone numbers (ones kept keep their type)" })),
  org: Schema.optional(Schema.NullOr(Text(500, "Organisation; null or \"\" removes it"))),
  note: Schema.optional(Schema.NullOr(Text(100_000, "Note; null or \"\" removes it"))),
  birthday: Schema.optional(Schema.NullOr(Schema.Union(Birthday, Schema.Literal("")))),
  addresses: Schema.optional(Addresses.annotations({ description: "The complete list of postal addresses" }))
})

export const updateContact = Tool.make({
  name: "nc_contacts_update",
  title: "Update Contact",
  description:
    "Change some fields of a contact; every field not given stays exactly as it is, and so does everything the tools do not show " +
    "(photo, custom fields, labels). emails, phones and addresses replace the whole list. Pass if_match (the etag you read) to avoid overwriting a newer edit.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["contacts.write"],
  input: UpdateInput,
  output: WriteOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const account = yield* davAccountOf(grant)
      const cardDav = yield* CardDav
      const { publicUrl } = yield* NextcloudConfig
      const book = yield* findBook(account, input.addressbook_id).pipe(whileTrying("list your address books"))
      if (book.readOnly) return yield* readOnlyBook(book)
      const current = yield* cardDav.get(account, book, input.id, true).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(contactNotFound(book.id, input.id))),
        whileTrying(`read the contact ${input.id}`)
      )
      if (input.if_match !== undefined && current.etag !== null && !sameEtag(input.if_match, current.etag)) {
        return yield* stale(input.id)
      }
      const parsed = fieldsOf(current)
      if (Either.isLeft(parsed)) return yield* unreadable(current, parsed.left)
      const changed = applyPatch(parsed.right.card, patchOf(input))
      const body = serializeVCard(changed)
      if (body === current.body) {
        return {
          status: "unchanged",
          message: `The contact ${input.id} already has these values; nothing was sent.`,
          contact: contactOf(publicUrl, current, parsed.right.fields)
        } as const
      }
      const ifMatch = input.if_match ?? current.etag
      yield* cardDav.put(account, book, input.id, body, ifMatch === null ? null : { ifMatch }).pipe(
        Effect.catchTags({
          NextcloudPreconditionFailed: () => Effect.fail(stale(input.id)),
          NextcloudNotFound: () => Effect.fail(contactNotFound(book.id, input.id)),
          NextcloudForbidden: () => Effect.fail(readOnlyBook(book))
        }),
        whileTrying(`update the contact ${input.id}`)
      )
      const stored = yield* readBack(account, book, input.id).pipe(whileTrying("read the contact back"))
      const after = fieldsOf(stored)
      if (Either.isLeft(after)) return yield* unreadable(stored, after.left)
      const contact = contactOf(publicUrl, stored, after.right.fields)
      return { status: "updated", message: `Updated ${contact.full_name ?? input.id} in ${book.id}.`, contact } as const
    })
})

// --- delete ------------------------------------------------------------------------

export const DeleteInput = Schema.Struct({ addressbook_id: AddressBookId, id: ContactId, if_match: IfMatch })
export const DeleteOutput = Tool.response(["deleted", "error"], {})

export const deleteContact = Tool.make({
  name: "nc_contacts_delete",
  title: "Delete Contact",
  description: "Delete a contact. Pass if_match (the etag you read) to delete only the version you saw.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  scopes: ["contacts.write"],
  input: DeleteInput,
  output: DeleteOutput,
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const account = yield* davAccountOf(grant)
      const cardDav = yield* CardDav
      const book = yield* findBook(account, input.addressbook_id).pipe(whileTrying("list your address books"))
      if (book.readOnly) return yield* readOnlyBook(book)
      yield* cardDav.remove(account, book, input.id, input.if_match ?? null).pipe(
        Effect.catchTags({
          NextcloudNotFound: () => Effect.fail(contactNotFound(book.id, input.id)),
          NextcloudPreconditionFailed: () => Effect.fail(stale(input.id)),
          NextcloudForbidden: () => Effect.fail(readOnlyBook(book))
        }),
        whileTrying(`delete the contact ${input.id}`)
      )
      return { status: "deleted", message: `Deleted the contact ${input.id} from ${book.id}.` } as const
    })
})

export const contactsTools = [listAddressBooks, searchContacts, getContact, createContact, updateContact, deleteContact] as const

