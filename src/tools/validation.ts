/**
 * Why a tool's arguments were refused, for a person: one line per bad field,
 * `<path>: <what is wrong>, got <value>` — `wait_seconds: must be between 0
 * and 120, got 500`, `scopes: must have at most 64 items, got 70`,
 * `extra: unknown property; this tool takes wait_seconds`.
 *
 * The lines come from the structure of the Schema's `ParseIssue` (its kinds
 * and paths, as `ParseResult.ArrayFormatter` walks them) and from the
 * constraints the failing refinement declares for JSON Schema (`minimum`,
 * `maxLength`, `maxItems`, `pattern`, …), never from Schema's own message
 * text, which names generated titles and descriptions (`between(0, 120)`,
 * "Expected <description>, actual 500").
 */
import { Option, ParseResult, SchemaAST } from "effect"

export interface ArgumentIssue {
  /** Where, as `field`, `field.sub`, `list[2]`; `arguments` for the whole. */
  readonly path: string
  /** What is wrong, e.g. `must be between 0 and 120, got 500`. */
  readonly text: string
}

type Path = ReadonlyArray<PropertyKey>

const MAX_VALUE_TEXT = 60

/** A value as the caller wrote it, shortened. */
export const showValue = (value: unknown): string => {
  if (value === undefined) return "nothing"
  if (typeof value === "string" && value.length > MAX_VALUE_TEXT) return `a string of ${value.length} characters`
  if (Array.isArray(value) && value.length > 10) return `a list of ${value.length} items`
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  return text.length > MAX_VALUE_TEXT ? `${text.slice(0, MAX_VALUE_TEXT)}…` : text
}

const showPath = (path: Path): string => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else out += out === "" ? String(key) : `.${String(key)}`
  }
  return out === "" ? "arguments" : out
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** What a schema node accepts, as a phrase ("a string", "one of "a", "b"", …). */
const expected = (ast: SchemaAST.AST): string => {
  switch (ast._tag) {
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "true or false"
    case "BigIntKeyword":
      return "an integer"
    case "Literal":
      return ast.literal === null ? "null" : JSON.stringify(ast.literal)
    case "Enums":
      return `one of ${ast.enums.map(([, v]) => JSON.stringify(v)).join(", ")}`
    case "TypeLiteral":
      return "an object"
    case "TupleType":
      return "a list"
    case "UndefinedKeyword":
    case "VoidKeyword":
      return "absent"
    case "Union": {
      const members = flattenUnion(ast).filter((m) => m._tag !== "UndefinedKeyword")
      if (members.length > 0 && members.every((m) => m._tag === "Literal")) {
        const literals = members.map(expected)
        return literals.length === 1 ? literals[0]! : `one of ${literals.join(", ")}`
      }
      return Array.from(new Set(members.map(expected))).join(" or ")
    }
    case "Refinement": {
      const json = jsonSchemaOf(ast)
      if (json?.["type"] === "integer") return "an integer"
      return expected(ast.from)
    }
    case "Transformation":
      return expected(ast.to)
    case "Suspend":
      return expected(ast.f())
    default:
      return "a valid value"
  }
}

const flattenUnion = (ast: SchemaAST.AST): Array<SchemaAST.AST> =>
  ast._tag === "Union" ? ast.types.flatMap(flattenUnion) : [ast]

const jsonSchemaOf = (ast: SchemaAST.AST): Record<string, unknown> | undefined =>
  Option.getOrUndefined(SchemaAST.getJSONSchemaAnnotation(ast)) as Record<string, unknown> | undefined

const num = (v: unknown): v is number => typeof v === "number"

/** The constraint a refinement declares for JSON Schema, as "must …" for `actual`. */
const constraintText = (json: Record<string, unknown>, actual: unknown): string | undefined => {
  const got = `got ${showValue(actual)}`
  const min = json["minimum"]
  const max = json["maximum"]
  const xmin = json["exclusiveMinimum"]
  const xmax = json["exclusiveMaximum"]
  if (num(min) && num(max)) return `must be between ${min} and ${max}, ${got}`
  if (num(min)) return `must be at least ${min}, ${got}`
  if (num(max)) return `must be at most ${max}, ${got}`
  if (num(xmin) && num(xmax)) return `must be greater than ${xmin} and less than ${xmax}, ${got}`
  if (num(xmin)) return `must be greater than ${xmin}, ${got}`
  if (num(xmax)) return `must be less than ${xmax}, ${got}`
  const length = typeof actual === "string" ? actual.length : undefined
  const gotLength = length === undefined ? got : `got ${plural(length, "character", "characters")}`
  const minLength = json["minLength"]
  const maxLength = json["maxLength"]
  if (num(minLength) && num(maxLength)) {
    return minLength === maxLength
      ? `must be exactly ${plural(minLength, "character", "characters")} long, ${gotLength}`
      : `must be between ${minLength} and ${plural(maxLength, "character", "characters")} long, ${gotLength}`
  }
  if (num(maxLength)) return `is too long: at most ${plural(maxLength, "character", "characters")}, ${gotLength}`
  if (num(minLength)) {
    return minLength === 1 ? "must not be empty" : `is too short: at least ${plural(minLength, "character", "characters")}, ${gotLength}`
  }
  const items = Array.isArray(actual) ? actual.length : undefined
  const gotItems = items === undefined ? got : `got ${items}`
  const minItems = json["minItems"]
  const maxItems = json["maxItems"]
  if (num(minItems) && num(maxItems)) return `must have between ${minItems} and ${plural(maxItems, "item", "items")}, ${gotItems}`
  if (num(maxItems)) return `has too many items: at most ${maxItems}, ${gotItems}`
  if (num(minItems)) return minItems === 1 ? "must not be empty" : `has too few items: at least ${minItems}, ${gotItems}`
  if (typeof json["pattern"] === "string") return `must match the pattern ${json["pattern"]}, ${got}`
  if (json["type"] === "integer") return `must be an integer, ${got}`
  if (num(json["multipleOf"])) return `must be a multiple of ${json["multipleOf"]}, ${got}`
  if (Array.isArray(json["enum"])) return `must be one of ${json["enum"].map((v) => JSON.stringify(v)).join(", ")}, ${got}`
  return undefined
}

/** A message the schema author wrote (`message` annotation), when it is plain text. */
const authoredMessage = (issue: ParseResult.ParseIssue): string | undefined => {
  const ast = "ast" in issue ? (issue.ast as SchemaAST.AST | undefined) : undefined
  if (ast === undefined) return undefined
  const annotation = Option.getOrUndefined(SchemaAST.getMessageAnnotation(ast))
  if (annotation === undefined) return undefined
  const value = annotation(issue)
  if (typeof value === "string") return value
  if (typeof value === "object" && value !== null && "message" in value && typeof value.message === "string") {
    return value.message
  }
  return undefined
}

/** A wrong value at one place: "must be …, got …". */
const typeText = (issue: ParseResult.Type): string =>
  issue.message !== undefined ? issue.message : `must be ${expected(issue.ast)}, got ${showValue(issue.actual)}`

/** Whether the member of a union failed only because the value has another type (not a constraint of the right type). */
const onlyTypeMismatch = (issue: ParseResult.ParseIssue): boolean => {
  switch (issue._tag) {
    case "Type":
      return true
    case "Refinement":
      return issue.kind === "From" && onlyTypeMismatch(issue.issue)
    case "Transformation":
      return onlyTypeMismatch(issue.issue)
    case "Composite":
      return issue.ast._tag === "Union" && childrenOf(issue).every(onlyTypeMismatch)
    default:
      return false
  }
}

const childrenOf = (issue: ParseResult.Composite): ReadonlyArray<ParseResult.ParseIssue> =>
  Array.isArray(issue.issues) ? (issue.issues as ReadonlyArray<ParseResult.ParseIssue>) : [issue.issues as ParseResult.ParseIssue]

const unionMembers = (issue: ParseResult.ParseIssue): Array<ParseResult.ParseIssue> =>
  issue._tag === "Composite" && issue.ast._tag === "Union" ? childrenOf(issue).flatMap(unionMembers) : [issue]

const collect = (issue: ParseResult.ParseIssue, path: Path, known: ReadonlyArray<string>, out: Array<ArgumentIssue>): void => {
  const add = (text: string): void => {
    out.push({ path: showPath(path), text })
  }
  const authored = authoredMessage(issue)
  if (authored !== undefined && issue._tag !== "Composite" && issue._tag !== "Pointer") return add(authored)
  switch (issue._tag) {
    case "Pointer": {
      const keys = Array.isArray(issue.path) ? issue.path : [issue.path as PropertyKey]
      return collect(issue.issue, [...path, ...keys], known, out)
    }
    case "Missing":
      return add("is required")
    case "Unexpected":
      return add(known.length === 0 ? "unknown property; this tool takes no arguments" : `unknown property; the known ones are ${known.join(", ")}`)
    case "Forbidden":
      return add("could not be checked")
    case "Type":
      return add(typeText(issue))
    case "Transformation":
      return collect(issue.issue, path, known, out)
    case "Refinement": {
      if (issue.kind === "From") return collect(issue.issue, path, known, out)
      const inner = issue.issue
      if (inner._tag === "Type" && inner.message !== undefined) return add(inner.message)
      const json = jsonSchemaOf(issue.ast)
      const text = json === undefined ? undefined : constraintText(json, issue.actual)
      if (text !== undefined) return add(text)
      const description = Option.getOrUndefined(SchemaAST.getDescriptionAnnotation(issue.ast))
      return add(`is not valid${description === undefined ? "" : ` (${description})`}, got ${showValue(issue.actual)}`)
    }
    case "Composite": {
      if (issue.ast._tag === "Union") {
        // An optional field's schema is `X | undefined`: its "expected undefined" says nothing here.
        const members = unionMembers(issue).filter((m) => !(m._tag === "Type" && m.ast._tag === "UndefinedKeyword"))
        const constrained = members.filter((m) => !onlyTypeMismatch(m))
        // The value had the right type for one member and broke its constraint: say which.
        if (constrained.length === 1) return collect(constrained[0]!, path, known, out)
        if (members.length === 1) return collect(members[0]!, path, known, out)
        return add(`must be ${expected(issue.ast)}, got ${showValue(issue.actual)}`)
      }
      const names =
        issue.ast._tag === "TypeLiteral"
          ? issue.ast.propertySignatures.map((p) => String(p.name))
          : known
      for (const child of childrenOf(issue)) collect(child, path, names, out)
      return
    }
  }
}

/** The issues of a refused decoding, one per bad field, in the order Schema found them. */
export const argumentIssues = (issue: ParseResult.ParseIssue): ReadonlyArray<ArgumentIssue> => {
  const out: Array<ArgumentIssue> = []
  collect(issue, [], [], out)
  return out
}

const MAX_LINES = 20

/** `Invalid arguments: …` with one line per bad field. */
export const describeArguments = (issue: ParseResult.ParseIssue): string => {
  const issues = argumentIssues(issue)
  const lines = issues.slice(0, MAX_LINES).map((i) => `${i.path}: ${i.text}`)
  if (issues.length > MAX_LINES) lines.push(`… and ${issues.length - MAX_LINES} more`)
  return lines.length === 1 ? `Invalid arguments: ${lines[0]}` : `Invalid arguments:\n${lines.join("\n")}`
}
