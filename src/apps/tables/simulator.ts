/**
 * Tables in the simulated Nextcloud (docs/nextcloud-protocol.md, "Tables"
 * and §10): API v2 over OCS for tables, columns and creating rows, API v1
 * (with and without `/index.php`) for reading, updating and deleting rows, as
 * the Tables app answers them:
 *
 * - v2 answers in the OCS envelope (HTTP status = the failure's status, 412
 *   without `OCS-APIRequest`), its failures with `data.message`; v1 answers
 *   plain JSON, failures `{"message": …}`;
 * - a table that does not exist is 404, one not shared with the caller 403;
 *   a row update that Tables does not catch (missing row, no permission) is a
 *   plain 500, as the v1 controller lets those errors through;
 * - values are parsed the way Tables' column types do, and what does not
 *   parse is stored as an empty cell, silently; min/max are not enforced;
 *   mandatory and unique columns are (400).
 *
 * Hooks seed tables (columns, shares) and rows, and read a table's rows.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { requestAuth } from "../../simulator/auth.js"
import { Empty, hook } from "../../simulator/hooks.js"
import { header, jsonResponse, searchParams } from "../../simulator/http.js"
import type { SimulatorApp } from "../../simulator/SimulatorApp.js"
import { knownUser, now, SimulatorHookError, type SimState } from "../../simulator/state.js"

export interface SimColumn {
  readonly id: number
  readonly tableId: number
  readonly title: string
  readonly type: string
  readonly subtype: string
  readonly mandatory: boolean
  readonly numberMin: number | null
  readonly numberMax: number | null
  readonly numberDecimals: number | null
  readonly textMaxLength: number | null
  readonly textUnique: boolean
  readonly selectionOptions: ReadonlyArray<{ readonly id: number; readonly label: string }>
  readonly usergroupMultipleItems: boolean
  readonly usergroupSelectUsers: boolean
  readonly usergroupSelectGroups: boolean
  readonly usergroupSelectTeams: boolean
}

export interface SharePermissions {
  readonly read: boolean
  readonly create: boolean
  readonly update: boolean
  readonly delete: boolean
  readonly manage: boolean
}

export interface SimTable {
  readonly id: number
  readonly title: string
  readonly owner: string
  readonly emoji: string
  readonly description: string
  readonly archived: boolean
  readonly shares: Map<string, SharePermissions>
  readonly createdAt: string
}

export interface SimRow {
  readonly id: number
  readonly tableId: number
  readonly createdBy: string
  readonly createdAt: string
  lastEditBy: string
  lastEditAt: string
  data: Map<number, unknown>
}

interface TablesStore {
  readonly tables: Map<number, SimTable>
  readonly columns: Map<number, SimColumn>
  readonly rows: Map<number, SimRow>
}

const FULL: SharePermissions = { read: true, create: true, update: true, delete: true, manage: true }

const accessOf = (table: SimTable, userId: string): SharePermissions | null =>
  table.owner === userId ? FULL : (table.shares.get(userId) ?? null)

/** Tables' timestamps: "Y-m-d H:i:s" in UTC. */
const stamp = (millis: number) => new Date(millis).toISOString().slice(0, 19).replace("T", " ")

const columnsOf = (store: TablesStore, tableId: number) =>
  [...store.columns.values()].filter((c) => c.tableId === tableId).sort((a, b) => a.id - b.id)

const tableJson = (store: TablesStore, table: SimTable, userId: string) => ({
  id: table.id,
  title: table.title,
  emoji: table.emoji,
  ownership: table.owner,
  ownerDisplayName: table.owner,
  createdBy: table.owner,
  createdAt: table.createdAt,
  lastEditBy: table.owner,
  lastEditAt: table.createdAt,
  archived: table.archived,
  isShared: table.owner !== userId,
  favorite: false,
  onSharePermissions: table.owner === userId ? null : accessOf(table, userId),
  hasShares: table.shares.size > 0,
  rowsCount: [...store.rows.values()].filter((r) => r.tableId === table.id).length,
  columnsCount: columnsOf(store, table.id).length,
  description: table.description,
  views: [],
  columnOrder: [],
  sort: []
})

const columnJson = (column: SimColumn, table: SimTable) => ({
  id: column.id,
  uuid: null,
  tableId: column.tableId,
  title: column.title,
  technicalName: `column_${column.id}`,
  createdBy: table.owner,
  createdByDisplayName: table.owner,
  createdAt: table.createdAt,
  lastEditBy: table.owner,
  lastEditByDisplayName: table.owner,
  lastEditAt: table.createdAt,
  viewColumnInformation: null,
  type: column.type,
  subtype: column.subtype,
  mandatory: column.mandatory,
  description: "",
  numberDefault: null,
  numberMin: column.numberMin,
  numberMax: column.numberMax,
  numberDecimals: column.numberDecimals,
  numberPrefix: "",
  numberSuffix: "",
  textDefault: "",
  textAllowedPattern: "",
  textMaxLength: column.textMaxLength,
  textUnique: column.textUnique,
  selectionOptions: column.selectionOptions.map((o) => ({ ...o })),
  selectionDefault: "",
  datetimeDefault: "",
  usergroupDefault: [],
  usergroupMultipleItems: column.usergroupMultipleItems,
  usergroupSelectUsers: column.usergroupSelectUsers,
  usergroupSelectGroups: column.usergroupSelectGroups,
  usergroupSelectTeams: column.usergroupSelectTeams,
  showUserStatus: false,
  customSettings: {}
})

const rowJson = (row: SimRow) => ({
  id: row.id,
  tableId: row.tableId,
  createdBy: row.createdBy,
  createdAt: row.createdAt,
  lastEditBy: row.lastEditBy,
  lastEditAt: row.lastEditAt,
  data: [...row.data.entries()].sort(([a], [b]) => a - b).map(([columnId, value]) => ({ columnId, value })),
  dataByAlias: null
})

// ---------------------------------------------------------------------------
// Value parsing, as Tables' column type classes do it (canBeParsed, parseValue)

const isDate = (s: string) => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s)
  if (m === null) return false
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  return d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3])
}

/** What Tables stores for `value`, or null when it cannot parse it. */
export const parseCell = (column: SimColumn, value: unknown): unknown => {
  const kind = column.subtype === "" ? column.type : `${column.type}-${column.subtype}`
  switch (kind) {
    case "number":
    case "number-stars":
    case "number-progress": {
      if (value === null || value === "" || value === 0 || value === false) return value === null ? null : 0
      const n = typeof value === "number" ? value : typeof value === "string" ? Number.parseFloat(value) : Number.NaN
      return Number.isFinite(n) && n !== 0 ? n : null
    }
    case "datetime": {
      if (typeof value !== "string") return null
      const plain = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/.test(value)
      const atom = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}):\d{2}[+-]\d{2}:\d{2}$/.exec(value)
      return plain ? value : atom !== null ? `${atom[1]} ${atom[2]}` : ""
    }
    case "datetime-date":
      return typeof value === "string" && isDate(value) ? value : null
    case "datetime-time":
      return typeof value === "string" && /^([01]\d|2[0-3]):[0-5]\d$/.test(value) ? value : null
    case "selection": {
      const id = typeof value === "number" ? value : typeof value === "string" && /^\d+$/.test(value) ? Number(value) : null
      return id !== null && column.selectionOptions.some((o) => o.id === id) ? String(id) : null
    }
    case "selection-multi": {
      if (!Array.isArray(value)) return null
      const ids = value.map(Number)
      if (!ids.every((id) => column.selectionOptions.some((o) => o.id === id))) return null
      return [...new Set(ids)].sort((a, b) => a - b)
    }
    case "selection-check":
      return [true, 1, "1", "true", "TRUE", "yes"].includes(value as never) ? "true" : [false, 0, "0", "false", "FALSE", "no"].includes(value as never) ? "false" : null
    case "usergroup":
      return Array.isArray(value) ? value : null
    default:
      return value
  }
}

// ---------------------------------------------------------------------------
// Routes

const ocs = (httpStatus: number, data: unknown, message = "OK") =>
  HttpServerResponse.text(
    JSON.stringify({
      ocs: {
        meta: { status: httpStatus === 200 ? "ok" : "failure", statuscode: httpStatus, message, totalitems: "", itemsperpage: "" },
        data
      }
    }),
    { status: httpStatus, contentType: "application/json; charset=utf-8" }
  )

const ocsFailure = (status: number, message: string) => ocs(status, { message }, message)
const v1Failure = (status: number, message: string) => jsonResponse({ message }, status)

interface Ctx {
  readonly userId: string
  readonly request: HttpServerRequest.HttpServerRequest
  readonly params: Readonly<Record<string, string | undefined>>
  readonly at: number
}

type Handler = (ctx: Ctx) => Effect.Effect<HttpServerResponse.HttpServerResponse>

const route = (state: SimState, handler: Handler, isOcs: boolean) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const auth = yield* requestAuth(state, request)
    if (auth._tag === "Throttled") return isOcs ? ocsFailure(429, "Reached maximum delay") : v1Failure(429, "Reached maximum delay")
    if (auth._tag === "Failed" || (auth._tag === "Anonymous" && !isOcs)) {
      const response = isOcs ? ocs(401, [], "Unauthorised") : v1Failure(401, "Current user is not logged in")
      return HttpServerResponse.setHeader(response, "WWW-Authenticate", 'Basic realm="Authorisation Required"')
    }
    if (isOcs && header(request, "ocs-apirequest")?.toLowerCase() !== "true") return jsonResponse({ message: "CSRF check failed" }, 412)
    if (auth._tag === "Anonymous") return ocs(401, [], "Current user is not logged in")
    const params = yield* HttpRouter.params
    const at = yield* now(state)
    return yield* handler({ userId: auth.user.userId, request, params, at })
  })

const intParam = (value: unknown): number | null =>
  typeof value === "number" && Number.isInteger(value) ? value : typeof value === "string" && /^\d{1,15}$/.test(value) ? Number(value) : null

const readJson = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    if (text.trim() === "") return {} as Record<string, unknown>
    const parsed = yield* Effect.try(() => JSON.parse(text) as unknown).pipe(Effect.orElseSucceed(() => null))
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null
  })

type Lookup<A> = { readonly ok: A } | { readonly status: 403 | 404; readonly message: string }

const findTable = (store: TablesStore, userId: string, id: number | null, need: keyof SharePermissions): Lookup<SimTable> => {
  const table = id === null ? undefined : store.tables.get(id)
  if (table === undefined) return { status: 404, message: "A not found error occurred." }
  const access = accessOf(table, userId)
  if (access === null || !access.read || !access[need]) return { status: 403, message: "A permission error occurred." }
  return { ok: table }
}

const listTables = (store: TablesStore): Handler => (ctx) =>
  Effect.sync(() =>
    ocs(
      200,
      [...store.tables.values()]
        .filter((t) => accessOf(t, ctx.userId) !== null)
        .sort((a, b) => a.id - b.id)
        .map((t) => tableJson(store, t, ctx.userId))
    )
  )

const getTable = (store: TablesStore): Handler => (ctx) =>
  Effect.sync(() => {
    const found = findTable(store, ctx.userId, intParam(ctx.params["id"]), "read")
    return "ok" in found ? ocs(200, tableJson(store, found.ok, ctx.userId)) : ocsFailure(found.status, found.message)
  })

const listColumns = (store: TablesStore): Handler => (ctx) =>
  Effect.sync(() => {
    if (ctx.params["nodeType"] !== "table") return ocsFailure(400, "Only tables are simulated.")
    const found = findTable(store, ctx.userId, intParam(ctx.params["nodeId"]), "read")
    if (!("ok" in found)) return ocsFailure(found.status, found.message)
    return ocs(200, columnsOf(store, found.ok.id).map((c) => columnJson(c, found.ok)))
  })

/** Tables' cleanup and validation of a row's data; a failure is (status, message). */
const applyData = (
  store: TablesStore,
  table: SimTable,
  data: unknown,
  target: Map<number, unknown>,
  rowId: number | null,
  insert: boolean
): { readonly status: number; readonly message: string } | null => {
  if (typeof data === "string") {
    try {
      data = JSON.parse(data) as unknown
    } catch {
      data = null
    }
  }
  if (typeof data !== "object" || data === null) return { status: insert ? 400 : 500, message: "Cannot create row: data input is invalid." }
  const columns = new Map(columnsOf(store, table.id).map((c) => [c.id, c]))
  const parsed = new Map<number, unknown>()
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const column = columns.get(Number.parseInt(key, 10))
    if (column === undefined) return { status: 500, message: `Column with id ${key} is not part of table with id ${table.id}` }
    const cell = parseCell(column, value)
    if (column.textUnique && typeof cell === "string") {
      const clash = [...store.rows.values()].some((r) => r.tableId === table.id && r.id !== rowId && r.data.get(column.id) === cell)
      if (clash) return { status: 400, message: `Column "${column.title}" contains a non-unique value.` }
    }
    parsed.set(column.id, cell)
  }
  for (const column of columns.values()) {
    if (!column.mandatory) continue
    const value = parsed.has(column.id) ? parsed.get(column.id) : target.get(column.id)
    if (value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0)) {
      return { status: 400, message: `Column "${column.title}" is mandatory.` }
    }
  }
  for (const [id, value] of parsed) target.set(id, value)
  return null
}

const createRow = (state: SimState, store: TablesStore): Handler => (ctx) =>
  Effect.gen(function* () {
    if (ctx.params["nodeCollection"] !== "tables") return ocsFailure(400, "Only tables are simulated.")
    const found = findTable(store, ctx.userId, intParam(ctx.params["nodeId"]), "create")
    if (!("ok" in found)) return ocsFailure(found.status, found.message)
    const body = yield* readJson(ctx.request)
    const data = new Map<number, unknown>()
    const table = found.ok
    const problem = applyData(store, table, body?.["data"], data, null, true)
    if (problem !== null) return ocsFailure(problem.status, problem.message)
    const at = stamp(ctx.at)
    const row: SimRow = { id: state.nextId++, tableId: table.id, createdBy: ctx.userId, createdAt: at, lastEditBy: ctx.userId, lastEditAt: at, data }
    store.rows.set(row.id, row)
    return ocs(200, rowJson(row))
  })

const listRows = (store: TablesStore): Handler => (ctx) =>
  Effect.sync(() => {
    const tableId = intParam(ctx.params["tableId"])
    const table = tableId === null ? undefined : store.tables.get(tableId)
    // Tables answers a missing table like one it may not read: 403.
    if (table === undefined || accessOf(table, ctx.userId) === null) return v1Failure(403, `no read access to table id = ${tableId}`)
    const params = searchParams(ctx.request)
    const limit = intParam(params.get("limit"))
    const offset = intParam(params.get("offset")) ?? 0
    const rows = [...store.rows.values()].filter((r) => r.tableId === table.id).sort((a, b) => a.id - b.id)
    return jsonResponse(rows.slice(offset, limit === null ? undefined : offset + limit).map(rowJson))
  })

const findRow = (
  store: TablesStore,
  ctx: Ctx,
  need: keyof SharePermissions
): { readonly row: SimRow; readonly table: SimTable } | { readonly status: 403 | 404; readonly message: string } => {
  const rowId = intParam(ctx.params["rowId"])
  const row = rowId === null ? undefined : store.rows.get(rowId)
  if (row === undefined) return { status: 404 as const, message: "A not found error occurred." }
  const table = store.tables.get(row.tableId) as SimTable
  const access = accessOf(table, ctx.userId)
  if (access === null || !access[need]) return { status: 403 as const, message: `PermissionError: can not ${need} row with id ${row.id}` }
  return { row, table }
}

const getRow = (store: TablesStore): Handler => (ctx) =>
  Effect.sync(() => {
    const found = findRow(store, ctx, "read")
    return "row" in found ? jsonResponse(rowJson(found.row)) : v1Failure(found.status, found.message)
  })

const updateRow = (store: TablesStore): Handler => (ctx) =>
  Effect.gen(function* () {
    const found = findRow(store, ctx, "update")
    // The v1 controller does not catch these: Nextcloud answers a plain 500.
    if (!("row" in found)) return v1Failure(500, "Internal Server Error")
    const body = yield* readJson(ctx.request)
    const data = new Map(found.row.data)
    const problem = applyData(store, found.table, body?.["data"], data, found.row.id, false)
    if (problem !== null) return v1Failure(problem.status, problem.message)
    found.row.data = data
    found.row.lastEditBy = ctx.userId
    found.row.lastEditAt = stamp(ctx.at)
    return jsonResponse(rowJson(found.row))
  })

const deleteRow = (store: TablesStore): Handler => (ctx) =>
  Effect.sync(() => {
    const found = findRow(store, ctx, "delete")
    if (!("row" in found)) return v1Failure(found.status, found.message)
    store.rows.delete(found.row.id)
    return jsonResponse(rowJson(found.row))
  })

const V1 = "/apps/tables/api/1"
const V2 = "/ocs/v2.php/apps/tables/api/2"
type Path = `/${string}`

const tablesRoutes = (state: SimState, store: TablesStore): HttpRouter.HttpRouter => {
  const o = (handler: Handler) => route(state, handler, true)
  const p = (handler: Handler) => route(state, handler, false)
  let router = HttpRouter.empty.pipe(
    HttpRouter.get(`${V2}/tables`, o(listTables(store))),
    HttpRouter.get(`${V2}/tables/:id`, o(getTable(store))),
    HttpRouter.get(`${V2}/columns/:nodeType/:nodeId`, o(listColumns(store))),
    HttpRouter.post(`${V2}/:nodeCollection/:nodeId/rows`, o(createRow(state, store)))
  )
  for (const prefix of ["/index.php", ""]) {
    const base = `${prefix}${V1}`
    router = router.pipe(
      HttpRouter.get(`${base}/tables/:tableId/rows` as Path, p(listRows(store))),
      HttpRouter.get(`${base}/rows/:rowId` as Path, p(getRow(store))),
      HttpRouter.put(`${base}/rows/:rowId` as Path, p(updateRow(store))),
      HttpRouter.del(`${base}/rows/:rowId` as Path, p(deleteRow(store)))
    )
  }
  return router
}

const ROUTE_KEYS = ["tables.rows.list", "tables.rows.get", "tables.rows.update", "tables.rows.delete", "tables.other"] as const

/** v1 routes; the v2 routes are under `/ocs/`, which the core names (`ocs.other`): target them by path prefix. */
const routeKey = (method: string, path: string): string | undefined => {
  if (!path.startsWith("/apps/tables/")) return undefined
  if (/^\/apps\/tables\/api\/1\/tables\/[^/]+\/rows$/.test(path) && method === "GET") return "tables.rows.list"
  if (/^\/apps\/tables\/api\/1\/rows\/[^/]+$/.test(path)) {
    return method === "GET" ? "tables.rows.get" : method === "PUT" ? "tables.rows.update" : method === "DELETE" ? "tables.rows.delete" : "tables.other"
  }
  return "tables.other"
}

// ---------------------------------------------------------------------------
// Hooks

export interface SeedColumn {
  readonly title: string
  readonly type: "text" | "number" | "datetime" | "selection" | "usergroup"
  readonly subtype?: string | undefined
  readonly mandatory?: boolean | undefined
  readonly numberMin?: number | undefined
  readonly numberMax?: number | undefined
  readonly numberDecimals?: number | undefined
  readonly textMaxLength?: number | undefined
  readonly textUnique?: boolean | undefined
  /** Option labels; ids are 1, 2, 3… as Tables numbers them. */
  readonly selectionOptions?: ReadonlyArray<string> | undefined
  readonly usergroupMultipleItems?: boolean | undefined
  readonly usergroupSelectGroups?: boolean | undefined
}

export interface SeedTable {
  readonly owner: string
  readonly title: string
  readonly emoji?: string | undefined
  readonly archived?: boolean | undefined
  readonly columns?: ReadonlyArray<SeedColumn> | undefined
  readonly shares?:
    | ReadonlyArray<{ readonly userId: string } & { readonly [K in keyof SharePermissions]?: boolean | undefined }>
    | undefined
}

export interface TableInfo {
  readonly id: number
  readonly title: string
  readonly columns: ReadonlyArray<{ readonly id: number; readonly title: string }>
}

export interface RowInfo {
  readonly id: number
  readonly tableId: number
  readonly data: Readonly<Record<string, unknown>>
}

export interface TablesControl {
  readonly seedTable: (input: SeedTable) => Effect.Effect<TableInfo, SimulatorHookError>
  /** A row as Tables would store it (values by column id, already in stored form). */
  readonly seedRow: (input: { readonly tableId: number; readonly data: Readonly<Record<string, unknown>>; readonly userId?: string | undefined }) => Effect.Effect<RowInfo, SimulatorHookError>
  readonly listTableRows: (tableId: number) => Effect.Effect<ReadonlyArray<RowInfo>, SimulatorHookError>
}

const rowInfo = (row: SimRow): RowInfo => ({ id: row.id, tableId: row.tableId, data: Object.fromEntries(row.data) })
const unknownTable = (id: number) => new SimulatorHookError({ reason: "UnknownPath", message: `no table ${id}` })

const makeControl = (state: SimState, store: TablesStore): TablesControl => ({
  seedTable: Effect.fn("Simulator.seedTable")(function* (input: SeedTable) {
    yield* knownUser(state, input.owner)
    for (const share of input.shares ?? []) yield* knownUser(state, share.userId)
    const table: SimTable = {
      id: state.nextId++,
      title: input.title,
      owner: input.owner,
      emoji: input.emoji ?? "",
      description: "",
      archived: input.archived ?? false,
      shares: new Map(
        (input.shares ?? []).map((s) => [
          s.userId,
          { read: s.read ?? true, create: s.create ?? false, update: s.update ?? false, delete: s.delete ?? false, manage: s.manage ?? false }
        ])
      ),
      createdAt: stamp(yield* now(state))
    }
    store.tables.set(table.id, table)
    const columns = (input.columns ?? []).map((c) => {
      const column: SimColumn = {
        id: state.nextId++,
        tableId: table.id,
        title: c.title,
        type: c.type,
        subtype: c.subtype ?? "",
        mandatory: c.mandatory ?? false,
        numberMin: c.numberMin ?? null,
        numberMax: c.numberMax ?? null,
        numberDecimals: c.numberDecimals ?? null,
        textMaxLength: c.textMaxLength ?? null,
        textUnique: c.textUnique ?? false,
        selectionOptions: (c.selectionOptions ?? []).map((label, i) => ({ id: i + 1, label })),
        usergroupMultipleItems: c.usergroupMultipleItems ?? false,
        usergroupSelectUsers: true,
        usergroupSelectGroups: c.usergroupSelectGroups ?? false,
        usergroupSelectTeams: false
      }
      store.columns.set(column.id, column)
      return { id: column.id, title: column.title }
    })
    return { id: table.id, title: table.title, columns }
  }),
  seedRow: Effect.fn("Simulator.seedTableRow")(function* (input) {
    const table = store.tables.get(input.tableId)
    if (table === undefined) return yield* unknownTable(input.tableId)
    const at = stamp(yield* now(state))
    const user = input.userId ?? table.owner
    const row: SimRow = {
      id: state.nextId++,
      tableId: table.id,
      createdBy: user,
      createdAt: at,
      lastEditBy: user,
      lastEditAt: at,
      data: new Map(Object.entries(input.data).map(([k, v]) => [Number(k), v]))
    }
    store.rows.set(row.id, row)
    return rowInfo(row)
  }),
  listTableRows: Effect.fn("Simulator.listTableRows")(function* (tableId: number) {
    if (!store.tables.has(tableId)) return yield* unknownTable(tableId)
    return [...store.rows.values()].filter((r) => r.tableId === tableId).sort((a, b) => a.id - b.id).map(rowInfo)
  })
})

const Num = Schema.Number
const SeedTableBody = Schema.Struct({
  owner: Schema.String,
  title: Schema.String,
  emoji: Schema.optional(Schema.String),
  archived: Schema.optional(Schema.Boolean),
  columns: Schema.optional(
    Schema.Array(
      Schema.Struct({
        title: Schema.String,
        type: Schema.Literal("text", "number", "datetime", "selection", "usergroup"),
        subtype: Schema.optional(Schema.String),
        mandatory: Schema.optional(Schema.Boolean),
        numberMin: Schema.optional(Num),
        numberMax: Schema.optional(Num),
        numberDecimals: Schema.optional(Num),
        textMaxLength: Schema.optional(Num),
        textUnique: Schema.optional(Schema.Boolean),
        selectionOptions: Schema.optional(Schema.Array(Schema.String)),
        usergroupMultipleItems: Schema.optional(Schema.Boolean),
        usergroupSelectGroups: Schema.optional(Schema.Boolean)
      })
    )
  ),
  shares: Schema.optional(
    Schema.Array(
      Schema.Struct({
        userId: Schema.String,
        read: Schema.optional(Schema.Boolean),
        create: Schema.optional(Schema.Boolean),
        update: Schema.optional(Schema.Boolean),
        delete: Schema.optional(Schema.Boolean),
        manage: Schema.optional(Schema.Boolean)
      })
    )
  )
})
const SeedRowBody = Schema.Struct({
  tableId: Schema.Number,
  data: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  userId: Schema.optional(Schema.String)
})

const hookRoutes = (control: TablesControl): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/__sim/tables", hook(SeedTableBody, (input) => control.seedTable(input), 201)),
    HttpRouter.post("/__sim/tables/rows", hook(SeedRowBody, (input) => control.seedRow(input), 201)),
    HttpRouter.get("/__sim/tables/:tableId/rows", hook(Empty, (_, params) => control.listTableRows(Number(params["tableId"] ?? "NaN"))))
  )

export const tablesSimulator: SimulatorApp<TablesControl> = {
  nextcloudApp: { id: "tables", name: "Tables" },
  routeKeys: ROUTE_KEYS,
  routeKey,
  hookEndpoints: [
    "POST   /__sim/tables                           {owner, title, emoji?, archived?, columns?: [{title, type, subtype?, mandatory?, …}], shares?: [{userId, read?, create?, update?, delete?, manage?}]}",
    "POST   /__sim/tables/rows                      {tableId, data: {columnId: stored value}, userId?}",
    "GET    /__sim/tables/{tableId}/rows            a table's rows as stored"
  ],
  mount: (state) => {
    const store: TablesStore = { tables: new Map(), columns: new Map(), rows: new Map() }
    const control = makeControl(state, store)
    return { routes: tablesRoutes(state, store), hooks: hookRoutes(control), control }
  },
  remote: (call) => ({
    seedTable: (input) => call("POST", "/tables", input),
    seedRow: (input) => call("POST", "/tables/rows", input),
    listTableRows: (tableId) => call("GET", `/tables/${tableId}/rows`)
  })
}
