/**
 * PostgreSQL behind a network that silently stops answering (a proxy on
 * 127.0.0.1 in front of the real server, frozen: nothing forwarded, nothing
 * closed). A storage call fails with a StorageError at its deadline instead
 * of hanging, and works again once the network is back; the grant-change
 * listener notices the loss, resets and listens again.
 *
 * Skipped with a warning when PostgreSQL is unreachable, except under
 * CI=true (see test/support/postgres.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Effect, Either, Layer, Option, Redacted, Ref, type Scope } from "effect"
import { GrantChanges } from "../../src/storage/GrantChanges.js"
import { UserId } from "../../src/domain/Ids.js"
import { Cipher } from "../../src/storage/Cipher.js"
import * as PgGrantChanges from "../../src/storage/PgGrantChanges.js"
import { PgStorage } from "../../src/storage/PgStorage.js"
import { Storage, StorageError } from "../../src/storage/Storage.js"
import { eventuallyEffect } from "../support/eventually.js"
import { adminSql, freshSchemaName, pgAvailableFor, pgUrl } from "../support/postgres.js"
import { type FreezableProxy, startFreezableProxy } from "../support/tcpProxy.js"
import { grant, randomKey } from "./fixtures.js"

const pgAvailable = await pgAvailableFor("PostgreSQL on a frozen network")

const alice = UserId.make("alice")
const schemas: Array<string> = []
let proxy: FreezableProxy

/** The test database's URL, through the proxy. */
const proxied = () => {
  const url = new URL(pgUrl)
  url.hostname = "127.0.0.1"
  url.port = String(proxy.port)
  return Redacted.make(url.toString())
}

const schema = () => {
  const name = freshSchemaName("frozen")
  schemas.push(name)
  return name
}

/** Poll `check` every 50 ms for up to `ms`. */
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, ms: number) => eventuallyEffect(check, ms, 50)

/** Fails the test instead of hanging it: `ms` is far beyond any deadline under test. */
const within = (ms: number) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, { duration: ms, onTimeout: () => new Error(`still waiting after ${ms} ms`) })

describe.skipIf(!pgAvailable)("PostgreSQL on a frozen network", () => {
  beforeAll(async () => {
    const target = new URL(pgUrl)
    proxy = await startFreezableProxy({ host: target.hostname, port: Number(target.port || 5432) })
  })
  afterAll(async () => {
    await proxy?.close()
    for (const name of schemas) await adminSql((sql) => sql`DROP SCHEMA IF EXISTS ${sql(name)} CASCADE`)
  })

  it.scopedLive("a storage call fails with StorageError at its deadline while frozen, and works again after", () =>
    Effect.gen(function* () {
      const context = yield* Layer.build(
        PgStorage.layer({ url: proxied(), schema: schema(), operationTimeout: "1 second", connectTimeout: "1 second" }).pipe(
          Layer.provide(Cipher.layer(randomKey()))
        )
      )
      const storage = Context.get(context, Storage)
      yield* storage.putGrant(grant("alice"))

      proxy.freeze()
      const started = Date.now()
      const read = yield* Effect.flip(storage.getGrant(alice)).pipe(within(20_000))
      const elapsed = Date.now() - started
      const write = yield* Effect.flip(storage.updateScopes(alice, ["notes.read"], 2_000)).pipe(within(20_000))
      proxy.unfreeze()
      console.info(`frozen PostgreSQL: getGrant failed after ${elapsed} ms (deadline 1 s)`)
      for (const error of [read, write]) {
        expect(error).toBeInstanceOf(StorageError)
        expect(JSON.stringify(error.cause)).toContain("no answer from the database")
      }

      const works = Effect.either(storage.getGrant(alice)).pipe(Effect.map(Either.isRight))
      expect(yield* eventually(works, 15_000)).toBe(true)
      // The write that timed out may or may not have landed; either way the grant reads back.
      expect(Option.isSome(yield* storage.getGrant(alice))).toBe(true)
    }), 60_000)

  it.scopedLive("the server limits statements and idle transactions to the deadline, unless the URL sets its own", () =>
    Effect.gen(function* () {
      const settings = (url: Redacted.Redacted<string>) =>
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql<{ readonly statement_timeout: string; readonly idle: string }>`SELECT
            current_setting('statement_timeout') AS statement_timeout,
            current_setting('idle_in_transaction_session_timeout') AS idle`
        ).pipe(Effect.provide(PgStorage.layerClient({ url, schema: schema(), operationTimeout: "2 seconds" })))
      expect(yield* settings(Redacted.make(pgUrl))).toEqual([{ statement_timeout: "2s", idle: "4s" }])
      const own = new URL(pgUrl)
      own.searchParams.set("statement_timeout", "7000")
      expect(yield* settings(Redacted.make(own.toString()))).toEqual([{ statement_timeout: "7s", idle: "4s" }])
    }))

  it.scopedLive("the grant-change listener notices a frozen connection, resets, and listens again after", () =>
    Effect.gen(function* () {
      const name = schema()
      const resets = yield* Ref.make(0)
      const changed = yield* Ref.make<ReadonlyArray<string>>([])
      const changesVia = (url: Redacted.Redacted<string>, scope: Scope.Scope) =>
        Layer.buildWithScope(
          PgGrantChanges.layer({
            url,
            schema: name,
            heartbeatInterval: "200 millis",
            heartbeatTimeout: "500 millis",
            reconnectDelay: "100 millis",
            connectTimeout: "1 second",
            queryTimeout: "1 second"
          }),
          scope
        ).pipe(Effect.map((ctx) => Context.get(ctx, GrantChanges)))
      const scope = yield* Effect.scope
      const listener = yield* changesVia(proxied(), scope)
      const publisher = yield* changesVia(Redacted.make(pgUrl), scope)
      yield* listener.subscribe({
        onChange: (userId) => Ref.update(changed, (all) => [...all, userId]),
        onReset: Ref.update(resets, (n) => n + 1)
      })
      expect(yield* eventually(Effect.map(Ref.get(resets), (n) => n >= 1), 10_000)).toBe(true)

      proxy.freeze()
      const before = yield* Ref.get(resets)
      // The lost session ends (its UNLISTEN cannot hang it) and the subscription resets.
      const noticed = yield* eventually(Effect.map(Ref.get(resets), (n) => n > before), 15_000)
      proxy.unfreeze()
      expect(noticed).toBe(true)

      // Listening again: a change published elsewhere arrives.
      expect(
        yield* eventually(
          Effect.zipRight(publisher.publish(alice), Effect.map(Ref.get(changed), (users) => users.includes(alice))),
          15_000
        )
      ).toBe(true)
    }), 60_000)
})
