/**
 * vCards (RFC 6350 vCard 4.0, RFC 2426 vCard 3.0) read and changed line by
 * line, so that an update touches only the fields it is given.
 *
 * A card is kept as its content lines, each with its exact bytes (folds and
 * line break included). Reading a field parses that one line with ical.js
 * (`ICAL.parse.property`, with the card's version's design set); writing a
 * field makes a new line with `ICAL.stringify.property` (escaping, folding)
 * and puts it in place of the old one. Every line the change does not concern
 * — PHOTO, X- properties, grouped lines (`item1.EMAIL`), parameters, unknown
 * properties, the order of lines — is written back byte for byte. The card's
 * VERSION is never changed.
 *
 * Why ical.js: it reads and writes both vCard 3.0 and 4.0 (its `vcard3` and
 * `vcard` design sets) and exposes the one-line parser and writer this needs.
 * The vCard-only packages either write only (vcards-js, vcard-creator), read
 * only one version (vcard4), or rebuild the whole card from their own model
 * (vcf), which is what must not happen here.
 *
 * Two corrections to ical.js's text handling, both per the RFCs: an escaped
 * semicolon (`\;`) in a single-valued text property (FN, NOTE, EMAIL) means a
 * semicolon (RFC 6350 §3.4; vCard 3.0 and sabre/vobject always escape it), and
 * NOTE is one text, not a comma-separated list, in vCard 3.0 as well. Both are
 * handled by reading those properties as one-part structured values.
 *
 * Birthdays: `YYYY-MM-DD`, or `--MM-DD` without a year. vCard 4.0 writes the
 * latter as `--MMDD`; vCard 3.0 has no such form, and Apple's convention
 * (which sabre/vobject follows when it converts) is used: year 1604 with
 * `X-APPLE-OMIT-YEAR=1604`.
 */
import ICAL from "ical.js"
import { Either } from "effect"

// --- lines -------------------------------------------------------------------

export interface VCardLine {
  /** The line exactly as it was (continuation lines included), without its final line break. */
  readonly raw: string
  /** The line break after it ("" for a last line without one). */
  readonly eol: string
  /** The unfolded line. */
  readonly text: string
  /** Property name, upper-case, without its group; "" for a blank line. */
  readonly name: string
  /** The group (`item1` of `item1.EMAIL`), as written; null without one. */
  readonly group: string | null
}

export interface VCard {
  readonly lines: ReadonlyArray<VCardLine>
  /** The VERSION value ("3.0", "4.0", or what the card says). */
  readonly version: string
  /** The line break new lines get: the card's first one, else CRLF. */
  readonly eol: string
}

type Design = object

/** Properties read as one-part structured values, so `\;` is a semicolon and a comma is not a separator. */
const SINGLE_TEXT = ["fn", "note", "email", "title", "role"] as const

const adjusted = (set: { property: Record<string, unknown> }): Design => {
  const property: Record<string, unknown> = { ...set.property }
  for (const name of SINGLE_TEXT) property[name] = { defaultType: "text", structuredValue: ";" }
  return { ...set, property }
}

// ical.js's design sets are plain objects; copies are adjusted, never the library's own.
const designs = ICAL.design as unknown as Record<"vcard" | "vcard3", { property: Record<string, unknown> }>
const DESIGN_V4: Design = adjusted(designs.vcard)
const DESIGN_V3: Design = adjusted(designs.vcard3)

const designOf = (version: string): Design => (version === "4.0" ? DESIGN_V4 : DESIGN_V3)

/** The jCard form of one property: name (lower-case), parameters, value type, value(s). */
type JProp = [string, Record<string, unknown>, string, ...Array<unknown>]

const parseLine = (text: string, version: string): JProp | null => {
  try {
    const parsed = (ICAL.parse as unknown as { property: (s: string, d: Design) => unknown }).property(text, designOf(version))
    return Array.isArray(parsed) && parsed.length >= 3 ? (parsed as JProp) : null
  } catch {
    return null
  }
}

const stringifyProperty = (prop: JProp, version: string, eol: string): string => {
  const line = (ICAL.stringify as unknown as { property: (p: JProp, d: Design, noFold?: boolean) => string }).property(
    prop,
    designOf(version)
  )
  // ical.js folds with CRLF; the card keeps its own line breaks.
  return eol === "\r\n" ? line : line.split("\r\n").join(eol)
}

/** Where the value starts in an unfolded line: after the first colon outside a quoted parameter value. */
const valueStart = (text: string): number => {
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') quoted = !quoted
    else if (c === ":" && !quoted) return i + 1
  }
  return -1
}

const NAME = /^(?:([A-Za-z0-9-]+)\.)?([A-Za-z0-9-]+)/

const lineOf = (raw: string, eol: string): VCardLine => {
  const text = raw.replace(/\r?\n[ \t]/g, "")
  const m = NAME.exec(text)
  return { raw, eol, text, name: m?.[2]?.toUpperCase() ?? "", group: m?.[1] ?? null }
}

/** Split a vCard into its lines, keeping every byte; a continuation line (starting with a space or tab) belongs to the line before. */
export const parseVCard = (input: string): Either.Either<VCard, string> => {
  const physical: Array<{ text: string; eol: string }> = []
  const breaks = /\r\n|\n|\r/g
  let start = 0
  for (let m = breaks.exec(input); m !== null; m = breaks.exec(input)) {
    physical.push({ text: input.slice(start, m.index), eol: m[0] })
    start = m.index + m[0].length
  }
  if (start < input.length) physical.push({ text: input.slice(start), eol: "" })
  const lines: Array<VCardLine> = []
  let raw: string | null = null
  let rawEol = ""
  for (const p of physical) {
    if (raw !== null && (p.text.startsWith(" ") || p.text.startsWith("\t"))) {
      raw += rawEol + p.text
      rawEol = p.eol
      continue
    }
    if (raw !== null) lines.push(lineOf(raw, rawEol))
    raw = p.text
    rawEol = p.eol
  }
  if (raw !== null) lines.push(lineOf(raw, rawEol))
  const begin = lines.findIndex((l) => l.name === "BEGIN" && /:\s*VCARD\s*$/i.test(l.text))
  if (begin < 0) return Either.left("no BEGIN:VCARD")
  const end = endOf(lines, begin)
  if (end < 0) return Either.left("no END:VCARD")
  const versionLine = lines.slice(begin, end).find((l) => l.name === "VERSION")
  const version = versionLine === undefined ? "3.0" : versionLine.text.slice(valueStart(versionLine.text)).trim()
  const eol = lines.find((l) => l.eol !== "")?.eol ?? "\r\n"
  return Either.right({ lines, version, eol })
}

/** The index of the END:VCARD matching the BEGIN at `begin` (nested cards, as vCard 2.1 AGENT, counted). */
const endOf = (lines: ReadonlyArray<VCardLine>, begin: number): number => {
  let depth = 0
  for (let i = begin; i < lines.length; i++) {
    const line = lines[i] as VCardLine
    if (line.name === "BEGIN") depth++
    else if (line.name === "END" && --depth === 0) return i
  }
  return -1
}

/** The card's own properties: between BEGIN:VCARD and its END, nested cards excluded. */
const propertyIndexes = (card: VCard): ReadonlyArray<number> => {
  const begin = card.lines.findIndex((l) => l.name === "BEGIN")
  const end = endOf(card.lines, begin)
  const out: Array<number> = []
  let depth = 0
  for (let i = begin + 1; i < end; i++) {
    const line = card.lines[i] as VCardLine
    if (line.name === "BEGIN") depth++
    else if (line.name === "END") depth--
    else if (depth === 0 && line.name !== "") out.push(i)
  }
  return out
}

export const serializeVCard = (card: VCard): string => card.lines.map((l) => l.raw + l.eol).join("")

// --- fields ------------------------------------------------------------------

export interface Address {
  readonly po_box: string
  readonly extended: string
  readonly street: string
  readonly city: string
  readonly region: string
  readonly postal_code: string
  readonly country: string
}

/** An address to write: missing parts are empty. */
export type AddressInput = { readonly [K in keyof Address]?: string | undefined }

export const ADDRESS_FIELDS = ["po_box", "extended", "street", "city", "region", "postal_code", "country"] as const

export interface ContactFields {
  readonly uid: string | null
  readonly full_name: string | null
  readonly emails: ReadonlyArray<string>
  readonly phones: ReadonlyArray<string>
  readonly org: string | null
  readonly note: string | null
  /** `YYYY-MM-DD`, or `--MM-DD` without a year; another text when the card has one (vCard 4.0 `VALUE=text`). */
  readonly birthday: string | null
  readonly addresses: ReadonlyArray<Address>
}

/** One text out of a jCard value: parts of a structured or list value are joined back. */
const flat = (value: unknown, separator: string): string =>
  Array.isArray(value) ? value.map((v) => flat(v, ",")).join(separator) : value === undefined || value === null ? "" : String(value)

const textValue = (prop: JProp): string => (prop.length > 4 ? prop.slice(3).map((v) => flat(v, ";")).join(",") : flat(prop[3], ";"))

const components = (prop: JProp): ReadonlyArray<string> => {
  const value = prop[3]
  return Array.isArray(value) ? value.map((v) => flat(v, ",")) : [flat(value, ",")]
}

const phoneValue = (prop: JProp): string => {
  const value = textValue(prop)
  return prop[2] === "uri" && /^tel:/i.test(value) ? value.slice(4) : value
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})/
const DATE_NO_YEAR = /^--(\d{2})-?(\d{2})$/

const birthdayValue = (prop: JProp): string | null => {
  const value = textValue(prop).trim()
  if (value === "") return null
  const noYear = DATE_NO_YEAR.exec(value)
  if (noYear !== null) return `--${noYear[1]}-${noYear[2]}`
  const basic = /^(\d{4})(\d{2})(\d{2})(?:T|$)/.exec(value)
  const date = DATE.exec(value) ?? basic
  if (date === null) return value
  const omit = prop[1]["x-apple-omit-year"]
  if (typeof omit === "string" && omit.trim() === date[1]) return `--${date[2]}-${date[3]}`
  return `${date[1]}-${date[2]}-${date[3]}`
}

const addressValue = (prop: JProp): Address => {
  const parts = components(prop)
  const at = (i: number) => parts[i] ?? ""
  return { po_box: at(0), extended: at(1), street: at(2), city: at(3), region: at(4), postal_code: at(5), country: at(6) }
}

const propsOf = (card: VCard, name: string): ReadonlyArray<{ index: number; prop: JProp }> =>
  propertyIndexes(card).flatMap((index) => {
    const line = card.lines[index] as VCardLine
    if (line.name !== name) return []
    const prop = parseLine(line.text, card.version)
    return prop === null ? [] : [{ index, prop }]
  })

export const readFields = (card: VCard): ContactFields => {
  const first = (name: string) => propsOf(card, name)[0]?.prop
  const fn = first("FN")
  const org = first("ORG")
  const note = first("NOTE")
  const bday = first("BDAY")
  const uid = first("UID")
  const nonEmpty = (s: string | null) => (s === null || s === "" ? null : s)
  return {
    uid: uid === undefined ? null : nonEmpty(textValue(uid)),
    full_name: fn === undefined ? nameFromN(card) : nonEmpty(textValue(fn)),
    emails: propsOf(card, "EMAIL").map((p) => textValue(p.prop)).filter((e) => e !== ""),
    phones: propsOf(card, "TEL").map((p) => phoneValue(p.prop)).filter((t) => t !== ""),
    org: org === undefined ? null : nonEmpty(components(org)[0] ?? ""),
    note: note === undefined ? null : nonEmpty(textValue(note)),
    birthday: bday === undefined ? null : birthdayValue(bday),
    addresses: propsOf(card, "ADR").map((p) => addressValue(p.prop))
  }
}

/** A display name from N (given family) when a card has no FN, as sabre/vobject repairs it. */
const nameFromN = (card: VCard): string | null => {
  const n = propsOf(card, "N")[0]
  if (n === undefined) return null
  const [family = "", given = ""] = components(n.prop)
  const name = [given, family].filter((s) => s !== "").join(" ")
  return name === "" ? null : name
}

// --- changes -----------------------------------------------------------------

export interface ContactPatch {
  readonly full_name?: string | undefined
  readonly emails?: ReadonlyArray<string> | undefined
  readonly phones?: ReadonlyArray<string> | undefined
  /** null or "": remove. */
  readonly org?: string | null | undefined
  readonly note?: string | null | undefined
  /** `YYYY-MM-DD` or `--MM-DD`; null or "": remove. */
  readonly birthday?: string | null | undefined
  readonly addresses?: ReadonlyArray<AddressInput> | undefined
}

/** Values never carry a bare CR: line breaks are LF, which the writer escapes as `\n`. */
const clean = (s: string): string => s.replace(/\r\n?/g, "\n")

/** Whether a birthday argument is a real date (`YYYY-MM-DD`) or month and day (`--MM-DD`, 29 February allowed). */
export const validBirthday = (value: string): boolean => {
  const noYear = /^--(\d{2})-(\d{2})$/.exec(value)
  if (noYear !== null) {
    const month = Number(noYear[1])
    const day = Number(noYear[2])
    const days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return days !== undefined && day >= 1 && day <= days
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  if (m === null) return false
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  date.setUTCFullYear(Number(m[1]))
  return date.getUTCFullYear() === Number(m[1]) && date.getUTCMonth() === Number(m[2]) - 1 && date.getUTCDate() === Number(m[3])
}

const lineFromText = (text: string, eol: string): VCardLine => lineOf(text, eol)

/** A new content line for `prop`, with the card's line breaks; `group` keeps the old line's group. */
const newLine = (card: VCard, prop: JProp, group: string | null, eol: string): VCardLine => {
  const params = group === null ? prop[1] : { ...prop[1], group }
  return lineFromText(stringifyProperty([prop[0], params, ...prop.slice(2)] as JProp, card.version, card.eol), eol)
}

const textProp = (name: string, value: string): JProp => [name, {}, "text", [clean(value)]]

const birthdayProp = (version: string, value: string): JProp => {
  const noYear = DATE_NO_YEAR.exec(value)
  if (version === "4.0") return ["bday", {}, "date-and-or-time", noYear === null ? value : `--${noYear[1]}-${noYear[2]}`]
  return noYear === null
    ? ["bday", {}, "date", value]
    : ["bday", { "x-apple-omit-year": "1604" }, "date", `1604-${noYear[1]}-${noYear[2]}`]
}

const phoneProp = (version: string, value: string): JProp =>
  version === "4.0" ? ["tel", {}, "text", clean(value)] : ["tel", {}, "phone-number", clean(value)]

const addressProp = (address: AddressInput): JProp => [
  "adr",
  {},
  "text",
  ADDRESS_FIELDS.map((f) => clean(address[f] ?? ""))
]

/** An existing line with a new value: the name and parameters stay as written, unless they name a value type or encoding. */
const withValue = (card: VCard, index: number, prop: JProp): VCardLine => {
  const line = card.lines[index] as VCardLine
  const start = valueStart(line.text)
  const prefix = start < 0 ? "" : line.text.slice(0, start - 1)
  const keepsPrefix = start > 0 && !/;\s*(VALUE|ENCODING|CHARSET)\s*=/i.test(prefix)
  if (!keepsPrefix) return newLine(card, prop, line.group, line.eol)
  const written = stringifyProperty([prop[0], {}, ...prop.slice(2)] as JProp, card.version, "\r\n").replace(/\r\n[ \t]/g, "")
  const value = written.slice(valueStart(written))
  const folded = (ICAL.helpers as unknown as { foldline: (s: string) => string }).foldline(`${prefix}:${value}`)
  return lineFromText(card.eol === "\r\n" ? folded : folded.split("\r\n").join(card.eol), line.eol)
}

interface Edit {
  /** Replacements and removals (null) by line index. */
  readonly replace: Map<number, VCardLine | null>
  /** New lines inserted after the line at this index (in order). */
  readonly insertAfter: Map<number, Array<VCardLine>>
}

const addAfter = (edit: Edit, index: number, line: VCardLine) => {
  const list = edit.insertAfter.get(index) ?? []
  list.push(line)
  edit.insertAfter.set(index, list)
}

/** Where new lines of a property go: after its last line, else after the last modelled line, else before END. */
const anchorFor = (card: VCard, names: ReadonlyArray<string>): number => {
  const indexes = propertyIndexes(card)
  for (const group of [names, ["FN", "N", "ORG", "TITLE", "EMAIL", "TEL", "ADR", "BDAY", "NOTE"], ["VERSION", "UID"]]) {
    const found = indexes.filter((i) => group.includes((card.lines[i] as VCardLine).name))
    const last = found[found.length - 1]
    if (last !== undefined) return last
  }
  return indexes[indexes.length - 1] ?? card.lines.findIndex((l) => l.name === "BEGIN")
}

/** A single-valued property: replace the first line's value, or add one, or (null) remove them all. */
const setSingle = (card: VCard, edit: Edit, name: string, prop: JProp | null, replaceWholeLine = false) => {
  if (prop === null) {
    for (const index of propertyIndexes(card)) {
      if ((card.lines[index] as VCardLine).name === name) edit.replace.set(index, null)
    }
    return
  }
  const existing = propsOf(card, name)
  const first = existing[0]
  if (first === undefined) {
    addAfter(edit, anchorFor(card, [name]), newLine(card, prop, null, card.eol))
    return
  }
  const line = card.lines[first.index] as VCardLine
  edit.replace.set(first.index, replaceWholeLine ? newLine(card, prop, line.group, line.eol) : withValue(card, first.index, prop))
}

/**
 * A list property (EMAIL, TEL, ADR): lines whose value is still wanted stay
 * as they are (type, group, parameters); lines whose value is gone are
 * removed, with an `X-ABLabel` of their group left alone otherwise; new values
 * are added after the last line of the property.
 */
const setList = <V>(
  card: VCard,
  edit: Edit,
  name: string,
  wanted: ReadonlyArray<V>,
  valueOf: (prop: JProp) => V,
  same: (a: V, b: V) => boolean,
  propOf: (value: V) => JProp
) => {
  const remaining = [...wanted]
  const existing = propsOf(card, name)
  const removedGroups = new Set<string>()
  for (const { index, prop } of existing) {
    const at = remaining.findIndex((v) => same(v, valueOf(prop)))
    if (at >= 0) remaining.splice(at, 1)
    else {
      edit.replace.set(index, null)
      const group = (card.lines[index] as VCardLine).group
      if (group !== null) removedGroups.add(group.toLowerCase())
    }
  }
  // A group that now holds only Apple's label lines loses them too.
  for (const group of removedGroups) {
    const members = propertyIndexes(card).filter((i) => (card.lines[i] as VCardLine).group?.toLowerCase() === group)
    const left = members.filter((i) => edit.replace.get(i) !== null)
    if (left.every((i) => (card.lines[i] as VCardLine).name === "X-ABLABEL")) {
      for (const i of left) edit.replace.set(i, null)
    }
  }
  const anchor = anchorFor(card, [name])
  for (const value of remaining) addAfter(edit, anchor, newLine(card, propOf(value), null, card.eol))
}

const sameAddress = (a: AddressInput, b: AddressInput) => ADDRESS_FIELDS.every((f) => clean(a[f] ?? "") === clean(b[f] ?? ""))

/** The N value derived from a full name: the last word is the family name, the rest the given names. */
export const nameParts = (fullName: string): readonly [family: string, given: string] => {
  const words = clean(fullName).trim().split(/\s+/).filter((w) => w !== "")
  if (words.length <= 1) return ["", words[0] ?? ""]
  return [words[words.length - 1] as string, words.slice(0, -1).join(" ")]
}

const nProp = (fullName: string): JProp => {
  const [family, given] = nameParts(fullName)
  return ["n", {}, "text", [family, given, "", "", ""]]
}

/** Apply a change: only the fields present in `patch` are touched. */
export const applyPatch = (card: VCard, patch: ContactPatch): VCard => {
  const edit: Edit = { replace: new Map(), insertAfter: new Map() }
  if (patch.full_name !== undefined) {
    const before = readFields(card).full_name
    setSingle(card, edit, "FN", textProp("fn", patch.full_name))
    // N follows FN when it was derived from it (or is empty); a name someone structured stays.
    const n = propsOf(card, "N")[0]
    if (n !== undefined) {
      const [family = "", given = "", ...rest] = components(n.prop)
      const derived = before === null ? ["", ""] : nameParts(before)
      const empty = family === "" && given === "" && rest.every((r) => r === "")
      if (empty || (family === derived[0] && given === derived[1] && rest.every((r) => r === ""))) {
        setSingle(card, edit, "N", nProp(patch.full_name))
      }
    }
  }
  if (patch.org !== undefined) {
    const value = patch.org === null || patch.org === "" ? null : clean(patch.org)
    const existing = propsOf(card, "ORG")[0]
    const units = existing === undefined ? [] : components(existing.prop).slice(1)
    setSingle(card, edit, "ORG", value === null ? null : ["org", {}, "text", [value, ...units]])
  }
  if (patch.note !== undefined) {
    setSingle(card, edit, "NOTE", patch.note === null || patch.note === "" ? null : textProp("note", patch.note))
  }
  if (patch.birthday !== undefined) {
    const value = patch.birthday
    setSingle(card, edit, "BDAY", value === null || value === "" ? null : birthdayProp(card.version, value), true)
  }
  if (patch.emails !== undefined) {
    setList(card, edit, "EMAIL", patch.emails, textValue, (a, b) => clean(a) === b, (v) => textProp("email", v))
  }
  if (patch.phones !== undefined) {
    setList(card, edit, "TEL", patch.phones, phoneValue, (a, b) => clean(a) === b, (v) => phoneProp(card.version, v))
  }
  if (patch.addresses !== undefined) {
    setList<AddressInput>(card, edit, "ADR", patch.addresses, addressValue, sameAddress, addressProp)
  }
  const lines: Array<VCardLine> = []
  card.lines.forEach((line, index) => {
    const replaced = edit.replace.has(index) ? edit.replace.get(index) : line
    const inserted = edit.insertAfter.get(index) ?? []
    if (replaced !== null && replaced !== undefined) {
      // A last line without a break gets one when lines follow it.
      lines.push(inserted.length > 0 && replaced.eol === "" ? { ...replaced, eol: card.eol } : replaced)
    }
    lines.push(...inserted)
  })
  return { ...card, lines }
}

/** A new card of this version with these fields, a UID, and N derived from the full name. */
export const newVCard = (version: "3.0" | "4.0", uid: string, fields: ContactPatch & { readonly full_name: string }): VCard => {
  const base = ["BEGIN:VCARD", `VERSION:${version}`, "PRODID:-//nextcloud-mcp//Contacts//EN"].join("\r\n")
  const skeleton = parseVCard(`${base}\r\nEND:VCARD\r\n`)
  if (Either.isLeft(skeleton)) throw new Error(skeleton.left)
  const card = skeleton.right
  const withUid: VCard = {
    ...card,
    lines: [
      ...card.lines.slice(0, 3),
      newLine(card, ["uid", {}, "text", clean(uid)], null, "\r\n"),
      newLine(card, nProp(fields.full_name), null, "\r\n"),
      ...card.lines.slice(3)
    ]
  }
  return applyPatch(withUid, fields)
}
