/**
 * Effect Schema → the JSON Schema an MCP tool declares. `JSONSchema.make`
 * emits `$defs`/`$ref` for annotated schemas, which some clients reject at the
 * top level and draft-07 mishandles beside siblings, so local refs are inlined
 * (siblings win) and `$schema`/`$defs` dropped. The result must be an object.
 */
import { JSONSchema, type Schema } from "effect"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [k: string]: Json }

const isObject = (v: Json | undefined): v is { readonly [k: string]: Json } =>
  typeof v === "object" && v !== null && !Array.isArray(v)

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
  const result = inline(root, [])
  if (!isObject(result) || result["type"] !== "object") {
    throw new Error(`a tool schema must be a JSON object schema, got ${JSON.stringify(result).slice(0, 200)}`)
  }
  return result as Record<string, unknown>
}
