/**
 * The column types the schema uses, per dialect, so one migration describes
 * the tables of both backends (same tables, same columns):
 *
 * - `key`: user ids and other keys, compared and ordered byte-wise on both
 *   (SQLite's TEXT does that; PostgreSQL needs `COLLATE "C"`).
 * - `millis`: epoch-millisecond times (SQLite's INTEGER is 64-bit; `bigint`).
 * - `json`: JSON values (text on SQLite; `jsonb`).
 * - `serialKey`: a row id that only grows, never reused after deletions.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export const columnTypes = Effect.map(SqlClient.SqlClient, (sql) => {
  const types = sql.onDialectOrElse({
    pg: () => ({
      key: `text COLLATE "C"`,
      millis: "bigint",
      json: "jsonb",
      serialKey: "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    }),
    orElse: () => ({
      key: "TEXT",
      millis: "INTEGER",
      json: "TEXT",
      serialKey: "INTEGER PRIMARY KEY AUTOINCREMENT"
    })
  })
  return {
    sql,
    key: sql.literal(types.key),
    millis: sql.literal(types.millis),
    json: sql.literal(types.json),
    serialKey: sql.literal(types.serialKey)
  }
})
