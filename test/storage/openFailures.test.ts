/**
 * Why the database could not be opened at startup reads differently for each
 * mistake, as the one line the command prints: a port nothing listens on, a
 * host name that does not resolve, a database that does not exist, a role
 * that does not exist, a wrong password. The first four against the real
 * PostgreSQL (skipped with a warning when it is unreachable, a failure under
 * CI=true); the wrong password against a small server speaking PostgreSQL's
 * wire protocol that asks for a password and refuses it with SQLSTATE 28P01,
 * as a server with password authentication does (the test server trusts
 * every local login).
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option, Redacted } from "effect"
import * as net from "node:net"
import { startup } from "../../src/commands/startup.js"
import { PgStorage } from "../../src/storage/PgStorage.js"
import { closedPort } from "../nextcloud/stub.js"
import { pgAvailableFor, pgUrl } from "../support/postgres.js"

const pgAvailable = await pgAvailableFor("database open failures")

/** The one line `nextcloud-mcp` prints when opening the database at `url` fails. */
const startupLine = (url: string) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(
      startup(Layer.launch(PgStorage.layerClient({ url: Redacted.make(url), connectTimeout: "5 seconds" })))
    )
    if (Exit.isSuccess(exit)) return "opened"
    const failure = Cause.failureOption(exit.cause)
    return Option.isSome(failure) ? failure.value.message : Cause.pretty(exit.cause)
  })

const withDatabase = (name: string) => {
  const url = new URL(pgUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** A server that asks for a cleartext password and refuses it, as PostgreSQL does with password authentication. */
const refusingPasswords = Effect.acquireRelease(
  Effect.async<net.Server>((resume) => {
    const server = net.createServer((socket) => {
      let stage = 0
      socket.on("data", () => {
        if (stage++ === 0) {
          // AuthenticationCleartextPassword
          const ask = Buffer.alloc(9)
          ask.write("R", 0)
          ask.writeInt32BE(8, 1)
          ask.writeInt32BE(3, 5)
          socket.write(ask)
          return
        }
        const fields = ["SFATAL", "VFATAL", "C28P01", 'Mpassword authentication failed for user "nextcloud"']
        const body = Buffer.concat([...fields.map((f) => Buffer.from(`${f}\0`)), Buffer.from([0])])
        const head = Buffer.alloc(5)
        head.write("E", 0)
        head.writeInt32BE(body.length + 4, 1)
        socket.end(Buffer.concat([head, body]))
      })
      socket.on("error", () => {})
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

describe("opening the database at startup: each mistake says what to change", () => {
  it.scopedLive("a wrong password: PostgreSQL refused the password, check user and password", () =>
    Effect.gen(function* () {
      const server = yield* refusingPasswords
      const { port } = server.address() as net.AddressInfo
      const line = yield* startupLine(`postgres://nextcloud:s3cret-pw@127.0.0.1:${port}/mcp`)
      expect(line).toBe(
        'could not open the database: PostgreSQL refused the password (password authentication failed for user "nextcloud"). Check the user and password in NC_MCP_DATABASE_URL.'
      )
      expect(line).not.toContain("s3cret-pw")
    }))

  it.scopedLive("a port nothing listens on: refused, check host and port", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      expect(yield* startupLine(`postgres://postgres@127.0.0.1:${port}/test`)).toBe(
        `could not open the database: PostgreSQL refused the connection (connect ECONNREFUSED 127.0.0.1:${port}): nothing listens there. ` +
          "Check the host and port in NC_MCP_DATABASE_URL, and that PostgreSQL is running."
      )
    }))

  it.scopedLive("a host name that does not resolve: check the host", () =>
    Effect.gen(function* () {
      expect(yield* startupLine("postgres://postgres@db.invalid:5432/test")).toMatch(
        /^could not open the database: the database host name could not be resolved \(getaddrinfo (ENOTFOUND|EAI_AGAIN) db\.invalid\)\. Check the host in NC_MCP_DATABASE_URL\.$/
      )
    }))

  it.scopedLive.skipIf(!pgAvailable)("a database that does not exist: create it or correct the name", () =>
    Effect.gen(function* () {
      expect(yield* startupLine(withDatabase("ncmcp_no_such_db"))).toBe(
        'could not open the database: database "ncmcp_no_such_db" does not exist on that PostgreSQL server. ' +
          "Create it (createdb <name>) or correct the database name (the path) in NC_MCP_DATABASE_URL."
      )
    }))

  it.scopedLive.skipIf(!pgAvailable)("a role that does not exist: check the user", () =>
    Effect.gen(function* () {
      const url = new URL(pgUrl)
      url.username = "ncmcp_no_such_role"
      expect(yield* startupLine(url.toString())).toBe(
        'could not open the database: PostgreSQL refused the login (role "ncmcp_no_such_role" does not exist). ' +
          "Check the user in NC_MCP_DATABASE_URL, and the server's pg_hba.conf."
      )
    }))
})
