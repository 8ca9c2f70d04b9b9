/**
 * Nextcloud Tables (docs/nextcloud-protocol.md, "Tables"): API v2 over OCS
 * (`/ocs/v2.php/apps/tables/api/2/…`) for tables, columns and creating rows;
 * API v1 (`/index.php/apps/tables/api/1/…`) for reading, updating and
 * deleting rows, which v2 does not offer. Every request carries
 * `OCS-APIRequest: true` and the user's app password as Basic auth.
 *
 * Reads are retried on a refused connection or a 5xx (see call.ts); writes
 * are not.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Context, Effect, Layer, Schema } from "effect"
import { makeCaller } from "../../nextcloud/call.js"
import { decodeJsonBody, type NextcloudResponse, underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../nextcloud/Ocs.js"
import { type DataCallError, expectStatus } from "../../nextcloud/errors.js"

const Int = Schema.Number.pipe(Schema.int())
const OptionalString = Schema.optional(Schema.NullOr(Schema.String))
const OptionalNumber = Schema.optional(Schema.NullOr(Schema.Number))
const OptionalBoolean = Schema.optional(Schema.NullOr(Schema.Boolean))

export const SharePermissions = Schema.Struct({
  read: OptionalBoolean,
  create: OptionalBoolean,
  update: OptionalBoolean,
  delete: OptionalBoolean,
  manage: OptionalBoolean
})

export const Table = Schema.Struct({
  id: Int,
  title: Schema.String,
  emoji: OptionalString,
  ownership: OptionalString,
  ownerDisplayName: OptionalString,
  description: OptionalString,
  archived: OptionalBoolean,
  isShared: OptionalBoolean,
  rowsCount: OptionalNumber,
  columnsCount: OptionalNumber,
  onSharePermissions: Schema.optional(Schema.NullOr(SharePermissions))
})
export type Table = typeof Table.Type

export const SelectionOption = Schema.Struct({ id: Int, label: Schema.String })

export const Column = Schema.Struct({
  id: Int,
  tableId: Schema.optional(Int),
  title: Schema.String,
  type: Schema.String,
  subtype: OptionalString,
  mandatory: OptionalBoolean,
  description: OptionalString,
  numberMin: OptionalNumber,
  numberMax: OptionalNumber,
  numberDecimals: OptionalNumber,
  numberPrefix: OptionalString,
  numberSuffix: OptionalString,
  textMaxLength: OptionalNumber,
  textUnique: OptionalBoolean,
  selectionOptions: Schema.optional(Schema.NullOr(Schema.Array(SelectionOption))),
  usergroupMultipleItems: OptionalBoolean,
  usergroupSelectUsers: OptionalBoolean,
  usergroupSelectGroups: OptionalBoolean,
  usergroupSelectTeams: OptionalBoolean
})
export type Column = typeof Column.Type

export const Cell = Schema.Struct({ columnId: Int, value: Schema.Unknown })

export const Row = Schema.Struct({
  id: Int,
  tableId: Int,
  createdBy: OptionalString,
  createdAt: OptionalString,
  lastEditBy: OptionalString,
  lastEditAt: OptionalString,
  data: Schema.Array(Cell)
})
export type Row = typeof Row.Type

const ocs = <A, I>(data: Schema.Schema<A, I>) =>
  Schema.Struct({ ocs: Schema.Struct({ meta: Schema.Struct({ statuscode: Schema.Number }), data }) })

/** Values to write, by column id, already in the form Tables stores. */
export type RowData = Readonly<Record<number, unknown>>

export interface TablesShape {
  readonly listTables: (credentials: Credentials) => Effect.Effect<ReadonlyArray<Table>, DataCallError>
  readonly getTable: (credentials: Credentials, tableId: number) => Effect.Effect<Table, DataCallError>
  readonly listColumns: (credentials: Credentials, tableId: number) => Effect.Effect<ReadonlyArray<Column>, DataCallError>
  readonly listRows: (
    credentials: Credentials,
    tableId: number,
    limit: number,
    offset: number
  ) => Effect.Effect<ReadonlyArray<Row>, DataCallError>
  readonly getRow: (credentials: Credentials, rowId: number) => Effect.Effect<Row, DataCallError>
  readonly createRow: (credentials: Credentials, tableId: number, data: RowData) => Effect.Effect<Row, DataCallError>
  readonly updateRow: (credentials: Credentials, rowId: number, data: RowData) => Effect.Effect<Row, DataCallError>
  readonly deleteRow: (credentials: Credentials, rowId: number) => Effect.Effect<void, DataCallError>
}

export class Tables extends Context.Tag("nextcloud-mcp/Tables")<Tables, TablesShape>() {}

export const TABLES_V1 = "index.php/apps/tables/api/1"
export const TABLES_V2 = "ocs/v2.php/apps/tables/api/2"

export const TablesLive: Layer.Layer<Tables, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  Tables,
  Effect.gen(function* () {
    const config = yield* NextcloudConfig
    const nc = makeCaller(yield* HttpClient.HttpClient, config)

    const send = (
      operation: string,
      request: HttpClientRequest.HttpClientRequest,
      credentials: Credentials
    ): Effect.Effect<NextcloudResponse, DataCallError> =>
      nc.json(operation, request, credentials, { ocs: true }).pipe(Effect.flatMap(expectStatus(operation, [200])))

    const v1 = (path: string) => underBase(config.host, `${TABLES_V1}/${path}`)
    const v2 = (path: string) => underBase(config.host, `${TABLES_V2}/${path}`)
    const ocsGet = (path: string) => HttpClientRequest.get(v2(path)).pipe(HttpClientRequest.setUrlParam("format", "json"))

    const listTables = Effect.fn("Tables.listTables")(function* (credentials: Credentials) {
      const operation = "Tables.listTables"
      const response = yield* send(operation, ocsGet("tables"), credentials)
      return (yield* decodeJsonBody(ocs(Schema.Array(Table)), operation)(response)).ocs.data
    })

    const getTable = Effect.fn("Tables.getTable")(function* (credentials: Credentials, tableId: number) {
      const operation = "Tables.getTable"
      const response = yield* send(operation, ocsGet(`tables/${tableId}`), credentials)
      return (yield* decodeJsonBody(ocs(Table), operation)(response)).ocs.data
    })

    const listColumns = Effect.fn("Tables.listColumns")(function* (credentials: Credentials, tableId: number) {
      const operation = "Tables.listColumns"
      const response = yield* send(operation, ocsGet(`columns/table/${tableId}`), credentials)
      return (yield* decodeJsonBody(ocs(Schema.Array(Column)), operation)(response)).ocs.data
    })

    const listRows = Effect.fn("Tables.listRows")(function* (
      credentials: Credentials,
      tableId: number,
      limit: number,
      offset: number
    ) {
      const operation = "Tables.listRows"
      const request = HttpClientRequest.get(v1(`tables/${tableId}/rows`)).pipe(
        HttpClientRequest.setUrlParams({ limit: String(limit), offset: String(offset) })
      )
      const response = yield* send(operation, request, credentials)
      return yield* decodeJsonBody(Schema.Array(Row), operation)(response)
    })

    const getRow = Effect.fn("Tables.getRow")(function* (credentials: Credentials, rowId: number) {
      const operation = "Tables.getRow"
      const response = yield* send(operation, HttpClientRequest.get(v1(`rows/${rowId}`)), credentials)
      return yield* decodeJsonBody(Row, operation)(response)
    })

    const createRow = Effect.fn("Tables.createRow")(function* (credentials: Credentials, tableId: number, data: RowData) {
      const operation = "Tables.createRow"
      const request = HttpClientRequest.post(v2(`tables/${tableId}/rows`)).pipe(
        HttpClientRequest.setUrlParam("format", "json"),
        HttpClientRequest.bodyUnsafeJson({ data })
      )
      const response = yield* send(operation, request, credentials)
      return (yield* decodeJsonBody(ocs(Row), operation)(response)).ocs.data
    })

    const updateRow = Effect.fn("Tables.updateRow")(function* (credentials: Credentials, rowId: number, data: RowData) {
      const operation = "Tables.updateRow"
      const request = HttpClientRequest.put(v1(`rows/${rowId}`)).pipe(HttpClientRequest.bodyUnsafeJson({ data }))
      const response = yield* send(operation, request, credentials)
      return yield* decodeJsonBody(Row, operation)(response)
    })

    const deleteRow = Effect.fn("Tables.deleteRow")(function* (credentials: Credentials, rowId: number) {
      yield* send("Tables.deleteRow", HttpClientRequest.del(v1(`rows/${rowId}`)), credentials)
    })

    return Tables.of({ listTables, getTable, listColumns, listRows, getRow, createRow, updateRow, deleteRow })
  })
)
