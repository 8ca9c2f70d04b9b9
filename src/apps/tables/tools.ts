/**
 * Tables tools (docs/nextcloud-protocol.md, "Tables"): tables, a table's
 * columns, rows read in pages, and rows inserted, updated and deleted with
 * their values named by column title or id and checked against the column
 * types before anything is sent. Reads need `tables.read`, writes
 * `tables.write`.
 *
 * Tables rows have no etag of their own; the product hands out one made of
 * the row's last edit time and values, and checks `if_match` against the row
 * as read just before writing.
 */
import { createHash } from "node:crypto"
import { Effect, Either, Schema } from "effect"
import { Conflict, InvalidArguments, NotFound, PermissionDenied } from "../../domain/Errors.js"
import { underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../nextcloud/Ocs.js"
import { credentialsOf } from "../../tools/account.js"
import { whileTrying } from "../../tools/nextcloudFailures.js"
import * as Tool from "../../tools/Tool.js"
import { type Column, type Row, type Table, Tables } from "./Client.js"
import { columnKeys, decodeValue, encodeRow, kindOf } from "./values.js"

const Id = (description: string) =>
  Schema.Number.pipe(Schema.int(), Schema.between(1, Number.MAX_SAFE_INTEGER)).annotations({ description })
const TableId = Id("The table's id (from nc_tables_list)")
const RowId = Id("The row's id (from nc_tables_read_rows)")

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 500
const Limit = Schema.Number.pipe(Schema.int(), Schema.between(1, MAX_LIMIT)).annotations({
  description: `At most this many items, 1–${MAX_LIMIT} (default ${DEFAULT_LIMIT})`
})
const Cursor = Schema.String.pipe(Schema.pattern(/^\d{1,9}$/)).annotations({ description: "next_cursor of the previous page" })
const IfMatch = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
  description: "The row's etag as you last read it; the change is refused if the row changed since"
})
const Values = Schema.Record({ key: Schema.String.pipe(Schema.maxLength(500)), value: Schema.Unknown }).annotations({
  description:
    "Cell values by column title or id. text: string; number: number (within the column's min/max); datetime: \"YYYY-MM-DD HH:MM\"; " +
    "date: \"YYYY-MM-DD\"; time: \"HH:MM\"; selection: an option's label or id; multiple selection: a list of them; check: true/false; " +
    "link: an http(s) URL; users/groups: user ids or {type: \"user\"|\"group\"|\"team\", id}; null empties a cell."
})

// ---------------------------------------------------------------------------
// Output

const TableOutput = Schema.Struct({
  id: Schema.Number,
  title: Schema.String,
  emoji: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  owner: Schema.optional(Schema.String),
  archived: Schema.Boolean,
  rows: Schema.optional(Schema.Number),
  columns: Schema.optional(Schema.Number),
  can_insert: Schema.Boolean,
  can_update: Schema.Boolean,
  can_delete: Schema.Boolean,
  url: Schema.String
})
type TableOutput = typeof TableOutput.Type

const ColumnOutput = Schema.Struct({
  id: Schema.Number,
  title: Schema.String,
  type: Schema.String.annotations({ description: "text, text-line, text-long, text-rich, text-link, number, number-stars, number-progress, datetime, datetime-date, datetime-time, selection, selection-multi, selection-check, usergroup, …" }),
  mandatory: Schema.Boolean,
  description: Schema.optional(Schema.String),
  min: Schema.optional(Schema.Number),
  max: Schema.optional(Schema.Number),
  decimals: Schema.optional(Schema.Number),
  max_length: Schema.optional(Schema.Number),
  unique: Schema.optional(Schema.Boolean),
  options: Schema.optional(Schema.Array(Schema.Struct({ id: Schema.Number, label: Schema.String }))),
  multiple: Schema.optional(Schema.Boolean),
  accepts: Schema.optional(Schema.Array(Schema.String).annotations({ description: "users / groups / teams" })),
  read_only: Schema.optional(Schema.Boolean)
})
type ColumnOutput = typeof ColumnOutput.Type

const RowOutput = Schema.Struct({
  id: Schema.Number,
  table_id: Schema.Number,
  values: Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({ description: "By column title" }),
  created_by: Schema.optional(Schema.String),
  created_at: Schema.optional(Schema.String),
  last_edit_by: Schema.optional(Schema.String),
  last_edit_at: Schema.optional(Schema.String),
  etag: Schema.String.annotations({ description: "Pass as if_match to nc_tables_update_row / nc_tables_delete_row" }),
  url: Schema.String
})
type RowOutput = typeof RowOutput.Type

const webUrl = (fragment: string) =>
  Effect.map(NextcloudConfig, ({ host }) => `${underBase(host, "index.php/apps/tables/").href}#/${fragment}`)

const tableOutput = (table: Table, url: string): TableOutput => {
  const p = table.onSharePermissions ?? null
  // Own tables carry no share permissions: the owner may do everything.
  const may = (flag: boolean | null | undefined) => (p === null ? true : flag === true || p.manage === true)
  return {
    id: table.id,
    title: table.title,
    ...(table.emoji ? { emoji: table.emoji } : {}),
    ...(table.description ? { description: table.description } : {}),
    ...(table.ownership ? { owner: table.ownership } : {}),
    archived: table.archived ?? false,
    ...(typeof table.rowsCount === "number" ? { rows: table.rowsCount } : {}),
    ...(typeof table.columnsCount === "number" ? { columns: table.columnsCount } : {}),
    can_insert: may(p?.create),
    can_update: may(p?.update),
    can_delete: may(p?.delete),
    url
  }
}

const columnOutput = (column: Column): ColumnOutput => {
  const kind = kindOf(column)
  const accepts = [
    ...(column.usergroupSelectUsers !== false ? ["users"] : []),
    ...(column.usergroupSelectGroups === true ? ["groups"] : []),
    ...(column.usergroupSelectTeams === true ? ["teams"] : [])
  ]
  return {
    id: column.id,
    title: column.title,
    type: kind,
    mandatory: column.mandatory === true,
    ...(column.description ? { description: column.description } : {}),
    ...(kind === "number" && typeof column.numberMin === "number" ? { min: column.numberMin } : {}),
    ...(kind === "number" && typeof column.numberMax === "number" ? { max: column.numberMax } : {}),
    ...(kind === "number-stars" ? { min: 0, max: 5 } : kind === "number-progress" ? { min: 0, max: 100 } : {}),
    ...(kind === "number" && typeof column.numberDecimals === "number" ? { decimals: column.numberDecimals } : {}),
    ...(kind.startsWith("text") && typeof column.textMaxLength === "number" && column.textMaxLength > 0 ? { max_length: column.textMaxLength } : {}),
    ...(kind.startsWith("text") && column.textUnique === true ? { unique: true } : {}),
    ...(kind === "selection" || kind === "selection-multi" ? { options: (column.selectionOptions ?? []).map((o) => ({ id: o.id, label: o.label })) } : {}),
    ...(kind === "usergroup" ? { multiple: column.usergroupMultipleItems === true, accepts } : {}),
    ...(column.id < 0 ? { read_only: true } : {})
  }
}

/** The product's etag of a row: its last edit and its values. */
export const rowEtag = (row: Row): string =>
  createHash("sha256")
    .update(JSON.stringify([row.lastEditAt ?? "", [...row.data].sort((a, b) => a.columnId - b.columnId)]))
    .digest("hex")
    .slice(0, 32)

const rowOutput = (row: Row, columns: ReadonlyArray<Column>, url: string): RowOutput => {
  const keys = columnKeys(columns)
  const byId = new Map(columns.map((c) => [c.id, c]))
  const values: Record<string, unknown> = {}
  for (const column of columns) if (column.id >= 0) values[keys.get(column.id) ?? column.title] = null
  for (const cell of row.data) {
    const column = byId.get(cell.columnId)
    if (column === undefined) continue
    values[keys.get(column.id) ?? column.title] = decodeValue(column, cell.value)
  }
  return {
    id: row.id,
    table_id: row.tableId,
    values,
    ...(row.createdBy ? { created_by: row.createdBy } : {}),
    ...(row.createdAt ? { created_at: row.createdAt } : {}),
    ...(row.lastEditBy ? { last_edit_by: row.lastEditBy } : {}),
    ...(row.lastEditAt ? { last_edit_at: row.lastEditAt } : {}),
    etag: rowEtag(row),
    url
  }
}

const offsetOf = (cursor: string | undefined) => (cursor === undefined ? 0 : Number(cursor))

const tableNotFound = (tableId: number) =>
  new NotFound({ message: `There is no table ${tableId} that you can see (it may have been deleted or not be shared with you). nc_tables_list shows yours.` })

const rowNotFound = (tableId: number, rowId: number) =>
  new NotFound({ message: `There is no row ${rowId} in table ${tableId} (it may have been deleted). nc_tables_read_rows shows the rows.` })

/** The table's columns; a missing or hidden table is NotFound. */
const readColumns = (credentials: Credentials, tableId: number) =>
  Effect.flatMap(Tables, (tables) => tables.listColumns(credentials, tableId)).pipe(
    Effect.catchTags({
      NextcloudNotFound: () => Effect.fail(tableNotFound(tableId)),
      NextcloudForbidden: () => Effect.fail(tableNotFound(tableId))
    })
  )

const readRow = (credentials: Credentials, tableId: number, rowId: number) =>
  Effect.gen(function* () {
    const tables = yield* Tables
    const row = yield* tables.getRow(credentials, rowId).pipe(
      Effect.catchTags({
        NextcloudNotFound: () => Effect.fail(rowNotFound(tableId, rowId)),
        NextcloudForbidden: () => Effect.fail(rowNotFound(tableId, rowId))
      })
    )
    if (row.tableId !== tableId) return yield* rowNotFound(tableId, rowId)
    return row
  })

const checkIfMatch = (row: Row, ifMatch: string | undefined) => {
  const etag = rowEtag(row)
  return ifMatch === undefined || ifMatch === etag
    ? Effect.void
    : Effect.fail(
        new Conflict({
          message: `Row ${row.id} was changed since you read it (your etag ${ifMatch} is out of date; it is now ${etag}), so nothing was changed. Read it again with nc_tables_read_rows and re-apply your change.`
        })
      )
}

const encodeOrFail = (columns: ReadonlyArray<Column>, values: Readonly<Record<string, unknown>>, insert: boolean) => {
  const encoded = encodeRow(columns, values, insert)
  return Either.isRight(encoded)
    ? Effect.succeed(encoded.right)
    : Effect.fail(new InvalidArguments({ message: `${encoded.left.join(" ")} Nothing was sent.` }))
}

const mayNot = (what: string, tableId: number) =>
  new PermissionDenied({ message: `You may not ${what} in table ${tableId} (it is shared with you without that permission).` })

// ---------------------------------------------------------------------------

export const ListTablesInput = Schema.Struct({
  include_archived: Schema.optional(Schema.Boolean.annotations({ description: "Include archived tables (default false)" })),
  limit: Schema.optional(Limit),
  cursor: Schema.optional(Cursor)
})

export const listTables = Tool.make({
  name: "nc_tables_list",
  title: "List Tables",
  description:
    "List your Nextcloud Tables tables (your own and those shared with you): id, title, row and column counts, what you may change, url. " +
    "Archived tables only with include_archived.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["tables.read"],
  input: ListTablesInput,
  output: Tool.response(["ok", "error"], {
    tables: Schema.optional(Schema.Array(TableOutput)),
    count: Schema.optional(Schema.Number),
    next_cursor: Schema.optional(Schema.NullOr(Schema.String))
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const tables = yield* Tables
      const all = yield* tables.listTables(credentialsOf(grant)).pipe(whileTrying("list your tables"))
      const visible = all.filter((t) => input.include_archived === true || t.archived !== true)
      const offset = offsetOf(input.cursor)
      const limit = input.limit ?? DEFAULT_LIMIT
      const page = visible.slice(offset, offset + limit)
      const next = offset + limit < visible.length ? String(offset + limit) : null
      const out: Array<TableOutput> = []
      for (const table of page) out.push(tableOutput(table, yield* webUrl(`table/${table.id}`)))
      return {
        status: "ok",
        message: `${page.length} table(s)${next === null ? "" : ` of ${visible.length}; more follow: pass next_cursor as cursor`}.`,
        tables: out,
        count: page.length,
        next_cursor: next
      } as const
    })
})

// ---------------------------------------------------------------------------

export const GetSchemaInput = Schema.Struct({ table_id: TableId })

export const getSchema = Tool.make({
  name: "nc_tables_get_schema",
  title: "Get Table Schema",
  description:
    "Read a table and its columns: id, title, type, whether mandatory, and what each accepts (number range and decimals, text length, " +
    "selection options, users/groups). Use it before inserting or updating rows.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["tables.read"],
  input: GetSchemaInput,
  output: Tool.response(["ok", "error"], {
    table: Schema.optional(TableOutput),
    columns: Schema.optional(Schema.Array(ColumnOutput))
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const tables = yield* Tables
      const credentials = credentialsOf(grant)
      const action = `read table ${input.table_id}`
      const table = yield* tables.getTable(credentials, input.table_id).pipe(
        Effect.catchTags({
          NextcloudNotFound: () => Effect.fail(tableNotFound(input.table_id)),
          NextcloudForbidden: () => Effect.fail(tableNotFound(input.table_id))
        }),
        whileTrying(action)
      )
      const columns = yield* readColumns(credentials, input.table_id).pipe(whileTrying(action))
      return {
        status: "ok",
        message: `Table ${table.id} "${table.title}" has ${columns.length} column(s): ${columns.map((c) => `"${c.title}" (${kindOf(c)})`).join(", ")}.`,
        table: tableOutput(table, yield* webUrl(`table/${table.id}`)),
        columns: columns.map(columnOutput)
      } as const
    })
})

// ---------------------------------------------------------------------------

export const ReadRowsInput = Schema.Struct({
  table_id: TableId,
  limit: Schema.optional(Limit),
  cursor: Schema.optional(Cursor)
})

export const readRows = Tool.make({
  name: "nc_tables_read_rows",
  title: "Read Table Rows",
  description:
    "Read a table's rows, a page at a time: each row's values by column title (selections as their labels, check boxes as true/false), " +
    "its etag and url. Page with limit and next_cursor.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["tables.read"],
  input: ReadRowsInput,
  output: Tool.response(["ok", "error"], {
    rows: Schema.optional(Schema.Array(RowOutput)),
    count: Schema.optional(Schema.Number),
    next_cursor: Schema.optional(Schema.NullOr(Schema.String))
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const tables = yield* Tables
      const credentials = credentialsOf(grant)
      const action = `read the rows of table ${input.table_id}`
      const columns = yield* readColumns(credentials, input.table_id).pipe(whileTrying(action))
      const offset = offsetOf(input.cursor)
      const limit = input.limit ?? DEFAULT_LIMIT
      // One more than asked for tells whether another page follows.
      const fetched = yield* tables
        .listRows(credentials, input.table_id, limit + 1, offset)
        .pipe(Effect.catchTag("NextcloudForbidden", () => Effect.fail(tableNotFound(input.table_id))), whileTrying(action))
      const page = fetched.slice(0, limit)
      const next = fetched.length > limit ? String(offset + limit) : null
      const rows: Array<RowOutput> = []
      for (const row of page) rows.push(rowOutput(row, columns, yield* webUrl(`table/${input.table_id}/row/${row.id}`)))
      return {
        status: "ok",
        message: `${rows.length} row(s) of table ${input.table_id}${next === null ? "" : "; more follow: pass next_cursor as cursor"}.`,
        rows,
        count: rows.length,
        next_cursor: next
      } as const
    })
})

// ---------------------------------------------------------------------------

const RowResult = Schema.optional(RowOutput)

export const InsertRowInput = Schema.Struct({ table_id: TableId, values: Values })

export const insertRow = Tool.make({
  name: "nc_tables_insert_row",
  title: "Insert Table Row",
  description:
    "Add a row. Values are named by column title or id and checked against the column types first (see nc_tables_get_schema); " +
    "if any is wrong, nothing is sent and every problem is listed.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  scopes: ["tables.write"],
  input: InsertRowInput,
  output: Tool.response(["created", "error"], { row: RowResult }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const tables = yield* Tables
      const credentials = credentialsOf(grant)
      const action = `add a row to table ${input.table_id}`
      const columns = yield* readColumns(credentials, input.table_id).pipe(whileTrying(action))
      const data = yield* encodeOrFail(columns, input.values, true)
      const row = yield* tables
        .createRow(credentials, input.table_id, data)
        .pipe(Effect.catchTag("NextcloudForbidden", () => Effect.fail(mayNot("add rows", input.table_id))), whileTrying(action))
      return {
        status: "created",
        message: `Added row ${row.id} to table ${input.table_id}.`,
        row: rowOutput(row, columns, yield* webUrl(`table/${input.table_id}/row/${row.id}`))
      } as const
    })
})

// ---------------------------------------------------------------------------

export const UpdateRowInput = Schema.Struct({
  table_id: TableId,
  row_id: RowId,
  values: Values.annotations({ description: "Only the cells to change, by column title or id; the others are kept" }),
  if_match: Schema.optional(IfMatch)
})

export const updateRow = Tool.make({
  name: "nc_tables_update_row",
  title: "Update Table Row",
  description:
    "Change some cells of a row, named by column title or id and checked against the column types first; other cells are kept. " +
    "Pass if_match (the row's etag) to refuse the change if the row changed meanwhile.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["tables.write"],
  input: UpdateRowInput,
  output: Tool.response(["updated", "error"], { row: RowResult }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      if (Object.keys(input.values).length === 0) return yield* new InvalidArguments({ message: "Nothing to change: give values." })
      const tables = yield* Tables
      const credentials = credentialsOf(grant)
      const action = `update row ${input.row_id} of table ${input.table_id}`
      const columns = yield* readColumns(credentials, input.table_id).pipe(whileTrying(action))
      const data = yield* encodeOrFail(columns, input.values, false)
      // Tables' v1 update answers a refusal as a bare 500: ask first.
      const table = yield* tables.getTable(credentials, input.table_id).pipe(whileTrying(action))
      if (!tableOutput(table, "").can_update) return yield* mayNot("change rows", input.table_id)
      const current = yield* readRow(credentials, input.table_id, input.row_id).pipe(whileTrying(action))
      yield* checkIfMatch(current, input.if_match)
      const row = yield* tables
        .updateRow(credentials, input.row_id, data)
        .pipe(Effect.catchTag("NextcloudForbidden", () => Effect.fail(mayNot("change rows", input.table_id))), whileTrying(action))
      const out = rowOutput(row, columns, yield* webUrl(`table/${input.table_id}/row/${row.id}`))
      return { status: "updated", message: `Updated row ${row.id} of table ${input.table_id}. Its new etag is ${out.etag}.`, row: out } as const
    })
})

// ---------------------------------------------------------------------------

export const DeleteRowInput = Schema.Struct({ table_id: TableId, row_id: RowId, if_match: Schema.optional(IfMatch) })

export const deleteRow = Tool.make({
  name: "nc_tables_delete_row",
  title: "Delete Table Row",
  description: "Delete a row. Pass if_match (the row's etag) to refuse if it changed meanwhile.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["tables.write"],
  input: DeleteRowInput,
  output: Tool.response(["deleted", "error"], { row_id: Schema.optional(Schema.Number) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const tables = yield* Tables
      const credentials = credentialsOf(grant)
      const action = `delete row ${input.row_id} of table ${input.table_id}`
      const current = yield* readRow(credentials, input.table_id, input.row_id).pipe(whileTrying(action))
      yield* checkIfMatch(current, input.if_match)
      yield* tables.deleteRow(credentials, input.row_id).pipe(
        Effect.catchTags({
          NextcloudForbidden: () => Effect.fail(mayNot("delete rows", input.table_id)),
          NextcloudNotFound: () => Effect.fail(rowNotFound(input.table_id, input.row_id))
        }),
        whileTrying(action)
      )
      return { status: "deleted", message: `Deleted row ${input.row_id} of table ${input.table_id}.`, row_id: input.row_id } as const
    })
})

export const tablesTools = [listTables, getSchema, readRows, insertRow, updateRow, deleteRow] as const
