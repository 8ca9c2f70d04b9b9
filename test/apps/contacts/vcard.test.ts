/**
 * vCards read and changed line by line: fields of vCard 3.0 and 4.0, escaping
 * of names with unicode, commas, semicolons and newlines, birthdays with and
 * without a year, and updates that leave every other line byte for byte.
 */
import { Either, FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import {
  applyPatch,
  type ContactPatch,
  newVCard,
  parseVCard,
  readFields,
  serializeVCard,
  type VCard,
  validBirthday
} from "../../../src/apps/contacts/vcard.js"

const parse = (text: string): VCard => Either.getOrThrow(parseVCard(text))
const crlf = (...lines: Array<string>) => `${lines.join("\r\n")}\r\n`

const APPLE_V3 = crlf(
  "BEGIN:VCARD",
  "VERSION:3.0",
  "PRODID:-//Apple Inc.//iPhone OS 17.4//EN",
  "N:Doe;John;Q.;Dr.;Jr.",
  "FN:Dr. John Q. Doe\\, Jr.",
  "ORG:Acme\\, Inc.;R&D",
  "item1.EMAIL;type=INTERNET;type=pref:john@acme.example",
  "item1.X-ABLabel:_$!<Other>!$_",
  "EMAIL;type=INTERNET;type=HOME:jd@home.example",
  "TEL;type=CELL;type=VOICE;type=pref:+1 (555) 010-0000",
  "item2.ADR;type=HOME:;;1 Main St;Springfield;IL;62701;USA",
  "item2.X-ABADR:us",
  "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12",
  "NOTE:Met at the conference\\; likes tea\\, not coffee\\nSecond line",
  "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHSEa",
  " HR8aHRwcICQuJyAiLCMcHCg3KSwwMTQ0NB8nOT04MjwuMzQy/8AACwgAAQABAQERAP/EABQAAQ",
  "X-SOCIALPROFILE;type=twitter;x-user=jdoe:https://twitter.com/jdoe",
  "X-CUSTOM;X-PARAM=\"a:b;c\":value\\, with comma",
  "UID:8D6F1C2E-1234-4F0A-9E3B-ABCDEF012345",
  "END:VCARD"
)

const NEXTCLOUD_V4 = crlf(
  "BEGIN:VCARD",
  "VERSION:4.0",
  "PRODID:-//Nextcloud Contacts v6.0.0",
  "UID:4b6f0a3c-0d1e-4a3b-9c1f-6b3a2f1e0d9c",
  "FN:Åsa Öberg",
  "N:Öberg;Åsa;;;",
  "TEL;TYPE=\"work,voice\";VALUE=uri:tel:+46-8-123-456",
  "EMAIL;TYPE=work;PREF=1:asa@example.se",
  "BDAY:--0229",
  "ANNIVERSARY:20100612",
  "KIND:individual",
  "REV;VALUE=TIMESTAMP:20240101T120000Z",
  "END:VCARD"
)

describe("reading", () => {
  it("reads vCard 3.0 as Apple writes it", () => {
    expect(readFields(parse(APPLE_V3))).toEqual({
      uid: "8D6F1C2E-1234-4F0A-9E3B-ABCDEF012345",
      full_name: "Dr. John Q. Doe, Jr.",
      emails: ["john@acme.example", "jd@home.example"],
      phones: ["+1 (555) 010-0000"],
      org: "Acme, Inc.",
      note: "Met at the conference; likes tea, not coffee\nSecond line",
      birthday: "--04-12",
      addresses: [{ po_box: "", extended: "", street: "1 Main St", city: "Springfield", region: "IL", postal_code: "62701", country: "USA" }]
    })
  })

  it("reads vCard 4.0: tel: URIs, birthdays without a year", () => {
    const fields = readFields(parse(NEXTCLOUD_V4))
    expect(fields).toMatchObject({ full_name: "Åsa Öberg", phones: ["+46-8-123-456"], emails: ["asa@example.se"], birthday: "--02-29" })
  })

  it("reads birthdays in every form servers write", () => {
    const bday = (version: string, line: string) =>
      readFields(parse(crlf("BEGIN:VCARD", `VERSION:${version}`, "FN:x", line, "END:VCARD"))).birthday
    expect(bday("3.0", "BDAY:1985-04-12")).toBe("1985-04-12")
    expect(bday("3.0", "BDAY:19850412")).toBe("1985-04-12")
    expect(bday("3.0", "BDAY;VALUE=date:1985-04-12")).toBe("1985-04-12")
    expect(bday("3.0", "BDAY:1985-04-12T00:00:00Z")).toBe("1985-04-12")
    expect(bday("3.0", "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12")).toBe("--04-12")
    expect(bday("3.0", "BDAY:--04-12")).toBe("--04-12")
    expect(bday("4.0", "BDAY:19850412")).toBe("1985-04-12")
    expect(bday("4.0", "BDAY:--0412")).toBe("--04-12")
    expect(bday("4.0", "BDAY;VALUE=text:circa 1800")).toBe("circa 1800")
  })

  it("takes a name from N when FN is missing, and tolerates LF line breaks and a missing final break", () => {
    const card = parse("BEGIN:VCARD\nVERSION:3.0\nN:Lovelace;Ada;;;\nEND:VCARD")
    expect(readFields(card).full_name).toBe("Ada Lovelace")
    expect(serializeVCard(card)).toBe("BEGIN:VCARD\nVERSION:3.0\nN:Lovelace;Ada;;;\nEND:VCARD")
  })

  it("refuses what is not a vCard", () => {
    expect(Either.isLeft(parseVCard("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))).toBe(true)
    expect(Either.isLeft(parseVCard("BEGIN:VCARD\r\nFN:x\r\n"))).toBe(true)
  })
})

describe("updating changes only the fields given", () => {
  it("keeps PHOTO, X- properties, groups, parameters and ordering byte for byte", () => {
    const card = parse(APPLE_V3)
    const changed = serializeVCard(applyPatch(card, { note: "New note" }))
    expect(changed).toBe(APPLE_V3.replace(/NOTE:[^\r]*\r\n/, "NOTE:New note\r\n"))
  })

  it("nothing given, nothing changed", () => {
    expect(serializeVCard(applyPatch(parse(APPLE_V3), {}))).toBe(APPLE_V3)
    expect(serializeVCard(applyPatch(parse(NEXTCLOUD_V4), {}))).toBe(NEXTCLOUD_V4)
  })

  it("lists keep the lines of values still wanted, drop the others with their label, and add new ones after", () => {
    const out = serializeVCard(applyPatch(parse(APPLE_V3), { emails: ["jd@home.example", "new@x.example"] }))
    expect(out).not.toContain("john@acme.example")
    expect(out).not.toContain("X-ABLabel:_$!<Other>!$_")
    expect(out).toContain("EMAIL;type=INTERNET;type=HOME:jd@home.example\r\nEMAIL:new@x.example\r\n")
    expect(out).toContain("item2.X-ABADR:us")
  })

  it("keeps the card's version: vCard 4.0 birthdays stay --MMDD, vCard 3.0 ones use X-APPLE-OMIT-YEAR", () => {
    const v4 = serializeVCard(applyPatch(parse(NEXTCLOUD_V4), { birthday: "--12-24" }))
    expect(v4).toContain("VERSION:4.0\r\n")
    expect(v4).toContain("BDAY:--1224\r\n")
    const v3 = applyPatch(parse(APPLE_V3), { birthday: "--12-24" })
    expect(serializeVCard(v3)).toContain("BDAY;X-APPLE-OMIT-YEAR=1604;VALUE=DATE:16041224\r\n")
    expect(readFields(v3).birthday).toBe("--12-24")
    const withYear = applyPatch(parse(APPLE_V3), { birthday: "1990-01-31" })
    expect(readFields(withYear).birthday).toBe("1990-01-31")
    expect(serializeVCard(withYear)).not.toContain("X-APPLE-OMIT-YEAR")
  })

  it("replaces a value but keeps the line's group and parameters", () => {
    const card = parse(crlf("BEGIN:VCARD", "VERSION:3.0", "item3.FN;LANGUAGE=de:Alt", "END:VCARD"))
    expect(serializeVCard(applyPatch(card, { full_name: "Neu, Name" }))).toContain("item3.FN;LANGUAGE=de:Neu\\, Name\r\n")
  })

  it("org keeps the departments; null removes fields; N follows FN only when it was derived from it", () => {
    const card = parse(APPLE_V3)
    expect(serializeVCard(applyPatch(card, { org: "Globex; Corp" }))).toContain("ORG:Globex\\; Corp;R&D\r\n")
    const removed = serializeVCard(applyPatch(card, { org: null, note: null, birthday: null }))
    expect(removed).not.toMatch(/^(ORG|NOTE|BDAY)/m)
    // N was structured by someone: it stays.
    expect(serializeVCard(applyPatch(card, { full_name: "Johnny" }))).toContain("N:Doe;John;Q.;Dr.;Jr.\r\n")
    const created = newVCard("3.0", "u1", { full_name: "Ada Lovelace" })
    const renamed = serializeVCard(applyPatch(created, { full_name: "Ada King" }))
    expect(renamed).toContain("N:King;Ada;;;\r\n")
  })

  it("folds long lines and escapes values", () => {
    const out = serializeVCard(newVCard("4.0", "u2", { full_name: `Ünïcödé, the; \\ ${"名".repeat(40)}\nline` }))
    const fn = out.split("\r\n").filter((l) => l.startsWith("FN:") || l.startsWith(" "))
    for (const physical of fn) expect(Buffer.byteLength(physical)).toBeLessThanOrEqual(76)
    const unfolded = out.replace(/\r\n /g, "")
    expect(unfolded).toContain(`FN:Ünïcödé\\, the\\; \\\\ ${"名".repeat(40)}\\nline\r\n`)
  })
})

describe("birthday arguments", () => {
  it("accepts real dates and month-days, 29 February included", () => {
    for (const ok of ["2000-02-29", "1604-01-01", "--02-29", "--12-31"]) expect(validBirthday(ok)).toBe(true)
    for (const bad of ["2001-02-29", "1990-13-01", "--02-30", "--00-10", "1990-1-1", "19900101", "tomorrow", ""]) {
      expect(validBirthday(bad)).toBe(false)
    }
  })
})

// --- properties --------------------------------------------------------------------

/** Text values: unicode, the characters vCard escapes, and line breaks. */
const text = fc
  .array(
    fc.oneof(
      fc.constantFrom(",", ";", "\\", "\n", ":", '"', " ", "é", "名", "😀", "\t"),
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 4 })
    ),
    { minLength: 1, maxLength: 30 }
  )
  .map((parts) => parts.join(""))
  .filter((s) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s) && s.trim() !== "")

const email = fc.emailAddress()
const phone = fc.stringMatching(/^\+?[0-9][0-9 ()\-./]{2,18}[0-9]$/)
const birthday = fc.oneof(
  fc.date({ min: new Date("1600-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }))
    .map(([m, d]) => `--${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`)
    .filter(validBirthday)
)
const version = fc.constantFrom("3.0" as const, "4.0" as const)

describe("properties", () => {
  it("create → read round-trips names, emails, phones, org, note and birthdays, in both versions", () => {
    fc.assert(
      fc.property(
        version,
        text,
        fc.array(email, { maxLength: 3 }),
        fc.array(phone, { maxLength: 3 }),
        fc.option(text, { nil: undefined }),
        fc.option(text, { nil: undefined }),
        fc.option(birthday, { nil: undefined }),
        (v, fullName, emails, phones, org, note, bday) => {
          const written = serializeVCard(
            newVCard(v, "uid-1", { full_name: fullName, emails, phones, ...(org !== undefined ? { org } : {}), ...(note !== undefined ? { note } : {}), ...(bday !== undefined ? { birthday: bday } : {}) })
          )
          const fields = readFields(parse(written))
          expect(fields.full_name).toBe(fullName)
          expect(fields.emails).toEqual(emails)
          expect(fields.phones).toEqual(phones)
          expect(fields.org).toBe(org ?? null)
          expect(fields.note).toBe(note ?? null)
          expect(fields.birthday).toBe(bday ?? null)
        }
      ),
      { numRuns: 100 }
    )
  })

  const unknownLine = fc
    .tuple(
      fc.option(fc.stringMatching(/^item[0-9]{1,2}$/), { nil: undefined }),
      fc.stringMatching(/^X-[A-Z0-9-]{1,12}$/),
      fc.array(fc.tuple(fc.stringMatching(/^[A-Z][A-Z-]{0,8}$/), fc.stringMatching(/^[A-Za-z0-9 :;,]{0,10}$/)), { maxLength: 2 }),
      fc.stringMatching(/^[\x20-\x7e]{0,120}$/)
    )
    .map(([group, name, params, value]) => {
      const p = params.map(([k, val]) => `;${k}=${/[:;,]/.test(val) ? `"${val}"` : val}`).join("")
      return `${group === undefined ? "" : `${group}.`}${name}${p}:${value}`
    })

  it("an update leaves every unknown property, its parameters and its place untouched", () => {
    fc.assert(
      fc.property(
        version,
        fc.array(unknownLine, { minLength: 1, maxLength: 8 }),
        fc.record(
          {
            full_name: text,
            emails: fc.array(email, { maxLength: 2 }),
            phones: fc.array(phone, { maxLength: 2 }),
            org: fc.option(text, { nil: null }),
            note: fc.option(text, { nil: null }),
            birthday: fc.option(birthday, { nil: null })
          },
          { requiredKeys: [] }
        ),
        (v, unknown, patch) => {
          const lines = ["BEGIN:VCARD", `VERSION:${v}`, "FN:Before", "EMAIL:old@example.org", ...unknown, "TEL:+1 555", "NOTE:old", "END:VCARD"]
          const before = parse(crlf(...lines))
          const after = applyPatch(before, patch as ContactPatch)
          const survivors = after.lines.map((l) => l.raw).filter((raw) => /^(item[0-9]+\.)?X-/.test(raw))
          expect(survivors).toEqual(unknown)
          const fields = readFields(after)
          if (patch.full_name !== undefined) expect(fields.full_name).toBe(patch.full_name)
          if (patch.emails !== undefined) expect(fields.emails).toEqual(patch.emails)
          if (patch.note !== undefined) expect(fields.note).toBe(patch.note)
          if (patch.birthday !== undefined) expect(fields.birthday).toBe(patch.birthday)
          expect(after.lines.find((l) => l.name === "VERSION")?.raw).toBe(`VERSION:${v}`)
        }
      ),
      { numRuns: 100 }
    )
  })
})
