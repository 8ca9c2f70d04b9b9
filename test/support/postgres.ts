/**
 * The PostgreSQL server tests run against: NC_MCP_TEST_DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/test). Suites skip with a
 * warning when it is unreachable, except under CI=true, where that fails.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { randomBytes } from "node:crypto"
import { Cause, Effect, Exit, Redacted } from "effect"
import { describe, expect, it } from "vitest"

export const pgUrl = process.env["NC_MCP_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
export const shownPgUrl = pgUrl.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@")
export const pgRequired = process.env["CI"] === "true"

export const adminLayer = PgClient.layer({ url: Redacted.make(pgUrl), connectTimeout: "3 seconds", maxConnections: 2 })

/** Whether the server answers, and why not. */
export const probePg = async (): Promise<{ readonly available: boolean; readonly why: string }> => {
  const exit = await Effect.runPromiseExit(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`).pipe(Effect.provide(adminLayer))
  )
  return { available: Exit.isSuccess(exit), why: Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "" }
}

/**
 * Whether the suites of `what` can run. When PostgreSQL is unreachable they
 * are skipped with a warning, except under CI=true, where a failing test
 * says why.
 */
export const pgAvailableFor = async (what: string): Promise<boolean> => {
  const pg = await probePg()
  if (!pg.available && pgRequired) {
    describe(what, () => {
      it("PostgreSQL must be reachable under CI=true", () => {
        expect.fail(`PostgreSQL is not reachable at ${shownPgUrl}: ${pg.why}`)
      })
    })
  } else if (!pg.available) {
    console.warn(`${what}: skipped, PostgreSQL is not reachable at ${shownPgUrl} (set NC_MCP_TEST_DATABASE_URL to run them)`)
  }
  return pg.available
}

/** A schema name unique to this run. */
export const freshSchemaName = (label: string) => `ncmcp_${label}_${process.pid}_${randomBytes(4).toString("hex")}`

/** Run SQL as the admin (e.g. DROP SCHEMA at the end of a run). */
export const adminSql = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.provide(adminLayer)) as Effect.Effect<A>)
