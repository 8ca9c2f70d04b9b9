/**
 * Effect Schema → the JSON Schema an MCP tool declares. `JSONSchema.make`
 * emits `$defs`/`$ref` for annotated schemas, which some clients reject at the
 * top level and draft-07 mishandles beside siblings, so local refs are inlined
 * (siblings win) and `$schema`/`$defs` dropped. The result must be an object.
 *
 * Titles are dropped everywhere: Effect gives every refinement a generated
 * one (`maxLength(4096)`, `between(0, 9007199254740991)`, `int`), which
 * clients show as a field's label. A field is explained by its
 * `description`; the tool has its own title.
 */
import { JSONSchema, type Schema } from "effect"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [k: string]: Json }

const isObject = (v: Json | undefined): v is { readonly [k: string]: Json } =>
  typeof v === "object" && v !== null && !Array.isArray(v)

/** Keywords whose value is a map from names to schemas. */
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"])
/** Keywords whose value is a schema, or a list of schemas. */
const SCHEMA_VALUES = new Set([
  "items",
  "prefixItems",
  "additionalItems",
  "additionalProperties",
  "unevaluatedProperties",
  "unevaluatedItems",
  "propertyNames",
  "contains",
  "not",
  "if",
  "then",
  "else",
  "anyOf",
  "oneOf",
  "allOf"
])

/** The schema without any `title` keyword, at any depth (a property named "title" stays). */
export const withoutTitles = (schema: Json): Json => {
  if (Array.isArray(schema)) return schema.map(withoutTitles)
  if (!isObject(schema)) return schema
  const out: Record<string, Json> = {}
  for (const [k, v] of Object.entries(schema)) {
    if (k === "title") continue
    if (SCHEMA_MAPS.has(k) && isObject(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, withoutTitles(sub)]))
    } else if (SCHEMA_VALUES.has(k)) {
      out[k] = withoutTitles(v)
    } else {
      out[k] = v
    }
  }
  return out
}

export const toolJsonSchema = (schema: Schema.Schema.Any): Record<string, unknown> => {
  const root = JSONSchema.make(schema) as unknown as { readonly [k: string]: Json }
  const defs = root["$defs"]
  const inline = (node: Json, seen: ReadonlyArray<string>): Json => {
    if (Array.isArray(node)) return node.map((n: Json) => inline(n, seen))
    if (!isObject(node)) return node
    const ref = node["$ref"]
    const out: Record<string, Json> = {}
    if (typeof ref === "string" && ref.startsWith("#/$defs/")) {
      const name = decodeURIComponent(ref.slice("#/$defs/".length))
      if (seen.includes(name)) throw new Error(`recursive schema ${name} cannot be inlined into a tool schema`)
      const target = isObject(defs) ? defs[name] : undefined
      if (!isObject(target)) throw new Error(`dangling $ref ${ref}`)
      Object.assign(out, inline(target, [...seen, name]))
    }
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" || k === "$schema" || k === "$defs" || k === "$id") continue
      out[k] = inline(v, seen)
    }
    return out
  }
  const result = withoutTitles(inline(root, []))
  if (!isObject(result) || result["type"] !== "object") {
    throw new Error(`a tool schema must be a JSON object schema, got ${JSON.stringify(result).slice(0, 200)}`)
  }
  return result as Record<string, unknown>
}
