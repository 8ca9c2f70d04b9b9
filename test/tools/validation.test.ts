/**
 * Refused arguments read as one line per bad field, naming the field, what
 * is wrong and what was given — never Schema's generated titles or
 * descriptions; and no tool's JSON Schema carries a generated `title`.
 */
import { ParseResult, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { allTools } from "../../src/apps/registry.js"
import { toolJsonSchema } from "../../src/tools/jsonSchema.js"
import { NoArguments } from "../../src/tools/Tool.js"
import { describeArguments } from "../../src/tools/validation.js"
import { useHarness } from "../support/inProcess.js"

const describeFor = (schema: Schema.Schema.Any, value: unknown): string => {
  const result = ParseResult.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>, {
    onExcessProperty: "error",
    errors: "all"
  })(value)
  if (result._tag === "Right") throw new Error(`accepted: ${JSON.stringify(value)}`)
  return describeArguments(result.left)
}

describe("argument messages", () => {
  const Sample = Schema.Struct({
    kind: Schema.optional(Schema.Literal("file", "directory")),
    name: Schema.String.pipe(Schema.pattern(/^[a-z]+$/)),
    count: Schema.optional(Schema.NullOr(Schema.Int.pipe(Schema.nonNegative()))),
    nested: Schema.optional(Schema.Struct({ flag: Schema.Boolean })),
    label: Schema.optional(Schema.String.pipe(Schema.nonEmptyString())),
    tags: Schema.optional(Schema.Array(Schema.String).pipe(Schema.maxItems(2)))
  })

  it("one line per bad field, with the field's path", () => {
    expect(describeFor(Sample, { name: "x", nested: { flag: 3 }, count: "s", label: "" })).toBe(
      [
        "Invalid arguments:",
        'count: must be an integer or null, got "s"',
        "nested.flag: must be true or false, got 3",
        "label: must not be empty"
      ].join("\n")
    )
  })

  it("names each kind of problem plainly", () => {
    expect(describeFor(Sample, { name: "ok", kind: "link" })).toBe('Invalid arguments: kind: must be one of "file", "directory", got "link"')
    expect(describeFor(Sample, { name: "OK!" })).toBe('Invalid arguments: name: must match the pattern ^[a-z]+$, got "OK!"')
    expect(describeFor(Sample, {})).toBe("Invalid arguments: name: is required")
    expect(describeFor(Sample, { name: "ok", count: 1.5 })).toBe("Invalid arguments: count: must be an integer, got 1.5")
    expect(describeFor(Sample, { name: "ok", count: -1 })).toBe("Invalid arguments: count: must be at least 0, got -1")
    expect(describeFor(Sample, { name: "ok", tags: ["a", "b", "c"] })).toBe(
      "Invalid arguments: tags: has too many items: at most 2, got 3"
    )
    expect(describeFor(Sample, { name: "ok", tags: ["a", 7] })).toBe("Invalid arguments: tags[1]: must be a string, got 7")
    expect(describeFor(Sample, { name: "ok", colour: "red" })).toBe(
      "Invalid arguments: colour: unknown property; the known ones are kind, name, count, nested, label, tags"
    )
    expect(describeFor(Sample, 5)).toBe("Invalid arguments: arguments: must be an object, got 5")
    expect(describeFor(NoArguments, { anything: 1 })).toBe("Invalid arguments: arguments: this tool takes no arguments")
  })

  it("a long value is shown by its size, not in full", () => {
    const Long = Schema.Struct({ text: Schema.String.pipe(Schema.maxLength(10)) })
    expect(describeFor(Long, { text: "x".repeat(5000) })).toBe(
      "Invalid arguments: text: is too long: at most 10 characters, got 5000 characters"
    )
  })
})

describe("argument messages through the server", () => {
  const harness = useHarness()

  type Started = Awaited<ReturnType<typeof harness.start>>
  const message = async (h: Started, name: string, args: Record<string, unknown>) => {
    const result = await h.call(name, args)
    expect(result.isError).toBe(true)
    expect(result.structuredContent).toMatchObject({ success: false, error_code: "InvalidArguments" })
    return String(result.structuredContent["message"])
  }

  it("the tools' own fields", async () => {
    const h = await harness.start()
    expect(await message(h, "nc_auth_check_status", { wait_seconds: 500 })).toBe(
      "Invalid arguments: wait_seconds: must be between 0 and 120, got 500"
    )
    expect(await message(h, "nc_auth_check_status", { wait_seconds: "10" })).toBe(
      'Invalid arguments: wait_seconds: must be a number, got "10"'
    )
    expect(await message(h, "nc_auth_check_status", { wait: 5 })).toBe(
      "Invalid arguments: wait: unknown property; the known ones are wait_seconds"
    )
    expect(await message(h, "nc_auth_provision_access", { scopes: Array.from({ length: 70 }, () => "notes.read") })).toBe(
      "Invalid arguments: scopes: has too many items: at most 64, got 70"
    )
    expect(await message(h, "nc_auth_provision_access", { scopes: ["n".repeat(70)] })).toBe(
      "Invalid arguments: scopes[0]: is too long: at most 64 characters, got 70 characters"
    )
    expect(await message(h, "nc_auth_provision_access", { scopes: "notes.read" })).toBe(
      'Invalid arguments: scopes: must be a list, got "notes.read"'
    )
    expect(await message(h, "nc_notes_get", {})).toBe("Invalid arguments: id: is required")
    expect(await message(h, "nc_notes_list", { limit: 501 })).toBe("Invalid arguments: limit: must be between 1 and 500, got 501")
  })

  it("no message repeats Schema's internals", async () => {
    const h = await harness.start()
    const texts = [
      await message(h, "nc_auth_check_status", { wait_seconds: 500 }),
      await message(h, "nc_auth_provision_access", { scopes: Array.from({ length: 70 }, () => "x") }),
      await message(h, "nc_notes_get", { id: -3 })
    ]
    for (const text of texts) {
      expect(text).not.toMatch(/Expected|actual|refinement|From side|maxItems\(|between\(|maxLength\(/)
      expect(text.split("\n").length).toBeLessThanOrEqual(2)
    }
  })
})

/** Every `title` keyword of a JSON Schema (a property that is merely named "title" is not one). */
const titlesIn = (schema: unknown, at = "#"): Array<string> => {
  if (Array.isArray(schema)) return schema.flatMap((s, i) => titlesIn(s, `${at}/${i}`))
  if (typeof schema !== "object" || schema === null) return []
  const found: Array<string> = []
  for (const [key, value] of Object.entries(schema)) {
    if (key === "title") found.push(`${at}/title = ${JSON.stringify(value)}`)
    else if (["properties", "patternProperties", "$defs", "definitions"].includes(key) && typeof value === "object" && value !== null) {
      for (const [name, sub] of Object.entries(value)) found.push(...titlesIn(sub, `${at}/${key}/${name}`))
    } else if (typeof value === "object") found.push(...titlesIn(value, `${at}/${key}`))
  }
  return found
}

describe("tool JSON Schemas", () => {
  it("no registered tool's input or output schema carries a title, at any depth", () => {
    expect(allTools.length).toBeGreaterThan(0)
    for (const tool of allTools) {
      expect(titlesIn(toolJsonSchema(tool.input)), `${tool.name} input`).toEqual([])
      expect(titlesIn(toolJsonSchema(tool.output)), `${tool.name} output`).toEqual([])
    }
  })

  it("the listing shows the same schemas: no titles, descriptions kept", async () => {
    const harness = await import("../support/inProcess.js").then((m) => m.startHarness())
    try {
      const { tools } = await harness.client.listTools()
      expect(tools.length).toBe(allTools.length)
      for (const tool of tools) {
        expect(titlesIn(tool.inputSchema), `${tool.name} input`).toEqual([])
        expect(titlesIn(tool.outputSchema), `${tool.name} output`).toEqual([])
      }
      const check = tools.find((t) => t.name === "nc_auth_check_status")
      expect(check?.inputSchema.properties?.["wait_seconds"]).toMatchObject({
        type: "number",
        minimum: 0,
        maximum: 120,
        description: expect.stringContaining("Wait up to this many seconds")
      })
    } finally {
      await harness.close()
    }
  })

  it("a property named title is kept; generated titles of refinements and $defs are not", () => {
    const schema = toolJsonSchema(
      Schema.Struct({
        title: Schema.String.pipe(Schema.maxLength(4096)),
        size: Schema.Int.pipe(Schema.between(0, Number.MAX_SAFE_INTEGER)),
        items: Schema.Array(Schema.Struct({ title: Schema.optional(Schema.String) })).pipe(Schema.maxItems(3))
      })
    )
    expect(titlesIn(schema)).toEqual([])
    expect(schema).toMatchObject({
      properties: {
        title: { type: "string", maxLength: 4096 },
        size: { type: "integer", minimum: 0 },
        items: { type: "array", maxItems: 3, items: { properties: { title: { type: "string" } } } }
      },
      required: ["title", "size", "items"]
    })
  })
})
