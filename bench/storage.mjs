// 3. Storage at scale: 100,000 provisioned users and 10,000 pending flows in
// one SQLite file (the product's SqliteStorage + Cipher from dist/index.js).
// `--pg` runs the same on PostgreSQL (NC_MCP_BENCH_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/test) in a fresh schema, dropped at the end.
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { statSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { INDEX, fmt, runStandalone, summarize, table, tempDir } from "./lib.mjs"

export const USERS = 100_000
export const FLOWS = 10_000
const BATCH = 5_000
const ROWS_PER_INSERT = 500
const LOOKUPS = 20_000
export const TARGET_LOOKUP_P99_MS = 1
export const TARGET_RSS_MB = 200

const fileSize = (file) => {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

const userId = (i) => `user-${String(i).padStart(6, "0")}@example.org`

const PG = process.argv.includes("--pg")
const PG_URL = process.env.NC_MCP_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** The URL with `search_path` set to `schema` (as PgStorage connects). */
const pgUrlFor = (schema) => {
  const url = new URL(PG_URL)
  url.searchParams.set("options", `-c search_path=${schema}`)
  return url.toString()
}

const pgClientLayer = async (url) => {
  const PgClient = await import("@effect/sql-pg/PgClient")
  return PgClient.layer({ url: Redacted.make(url), maxConnections: 2 })
}

/** `target` is the SQLite file, or `pg:<schema>`. */
const storageLayer = async (target, key) => {
  const { Cipher, SqliteStorage, Storage, StorageLayers } = await import(INDEX)
  if (target.startsWith("pg:")) {
    const schema = target.slice(3)
    return StorageLayers.layerPg({ url: Redacted.make(PG_URL), key: Redacted.make(key), schema }).pipe(
      Layer.merge(await pgClientLayer(pgUrlFor(schema))),
      Layer.merge(Cipher.layer(Redacted.make(key)))
    )
  }
  const filename = target
  return Layer.effect(Storage, SqliteStorage.make).pipe(
    Layer.provideMerge(SqliteStorage.layerClient({ filename })),
    Layer.provideMerge(Cipher.layer(Redacted.make(key)))
  )
}

/** Fill `filename` with USERS grants and FLOWS pending flows. */
const load = async (filename, key) => {
  const { Cipher, Storage } = await import(INDEX)
  const runtime = ManagedRuntime.make(await storageLayer(filename, key))
  if (filename.startsWith("pg:")) await runtime.runPromise(Storage) // migrate before the bulk load
  const now = Date.now()
    // Bulk load: rows encrypted by the product's Cipher (same AAD as SqliteStorage),
    // inserted many per statement inside transactions. getGrant below decrypts
    // them, so a drift from the storage format fails the benchmark.
    await runtime.runPromise(
      Effect.gen(function* () {
        const cipher = yield* Cipher
        const sql = yield* SqlClient.SqlClient
        const insertAll = (table, rows) =>
          Effect.forEach(
            Array.from({ length: Math.ceil(rows.length / ROWS_PER_INSERT) }, (_, k) => rows.slice(k * ROWS_PER_INSERT, (k + 1) * ROWS_PER_INSERT)),
            (chunk) => sql`INSERT INTO ${sql(table)} ${sql.insert(chunk)}`,
            { discard: true }
          ).pipe(sql.withTransaction)
        const grants = []
        for (let i = 0; i < USERS; i++) {
          const id = userId(i)
          grants.push({
            user_id: id,
            login_name: `user${i}`,
            nc_user_id: `user${i}`,
            app_password_enc: yield* cipher.encrypt(Redacted.make(randomBytes(36).toString("base64url")), `grant:app_password:${id}`),
            scopes: i % 3 === 0 ? null : JSON.stringify(["files.read", "notes.read", "notes.write"]),
            created_at: now - i,
            updated_at: now - i
          })
          if (grants.length === BATCH) yield* insertAll("grants", grants.splice(0))
        }
        if (grants.length > 0) yield* insertAll("grants", grants.splice(0))
        const flows = []
        for (let i = 0; i < FLOWS; i++) {
          const id = `pending-${String(i).padStart(5, "0")}@example.org`
          flows.push({
            user_id: id,
            poll_token_enc: yield* cipher.encrypt(Redacted.make(randomBytes(96).toString("base64url")), `flow:poll_token:${id}`),
            poll_endpoint: "https://cloud.example.org/index.php/login/v2/poll",
            login_url_enc: yield* cipher.encrypt(
              Redacted.make(`https://cloud.example.org/index.php/login/v2/flow/${randomBytes(96).toString("base64url")}`),
              `flow:login_url:${id}`
            ),
            requested_scopes: JSON.stringify(["notes.read"]),
            purpose: "provision",
            elicitation_id: null,
            created_at: now - i * 10,
            expires_at: now - i * 10 + 20 * 60_000
          })
          if (flows.length === BATCH) yield* insertAll("login_flows", flows.splice(0))
        }
        if (flows.length > 0) yield* insertAll("login_flows", flows.splice(0))
      })
    )
  await runtime.dispose()
}

/** The size of everything in `schema`, indexes and TOAST included. */
const pgSchemaBytes = async (schema) => {
  const runtime = ManagedRuntime.make(await pgClientLayer(PG_URL))
  try {
    return await runtime.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql`SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${schema} AND c.relkind = 'r'`
      ).pipe(Effect.map((rows) => Number(rows[0]?.n ?? 0)))
    )
  } finally {
    await runtime.dispose()
  }
}

const dropPgSchema = async (schema) => {
  const runtime = ManagedRuntime.make(await pgClientLayer(PG_URL))
  try {
    await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`))
  } finally {
    await runtime.dispose()
  }
}

export const run = async () => {
  const { Storage } = await import(INDEX)
  const tmp = tempDir()
  const schema = `ncmcp_bench_${process.pid}_${randomBytes(3).toString("hex")}`
  const filename = PG ? `pg:${schema}` : path.join(tmp.dir, "bench.db")
  const key = new Uint8Array(randomBytes(32))
  const runtime = ManagedRuntime.make(await storageLayer(filename, key))
  try {
    // The bulk load runs in a child process, so the RSS measured here is that of
    // a process serving the 100,000-user database, not of building it.
    const loadStarted = process.hrtime.bigint()
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--load", filename, Buffer.from(key).toString("base64"), ...(PG ? ["--pg"] : [])], {
      stdio: "inherit"
    })
    const loadSeconds = Number(process.hrtime.bigint() - loadStarted) / 1e9
    await runtime.runPromise(Storage) // open the database
    const rssAfterLoadMb = process.memoryUsage().rss / 1024 / 1024
    const peakAfterLoadMb = process.resourceUsage().maxRSS / 1024

    // getGrant of random users, one at a time.
    const lookups = await runtime.runPromise(
      Effect.gen(function* () {
        const storage = yield* Storage
        const samples = []
        for (let k = 0; k < LOOKUPS; k++) {
          const id = userId(Math.floor(Math.random() * USERS))
          const t0 = process.hrtime.bigint()
          const grant = yield* storage.getGrant(id)
          samples.push(Number(process.hrtime.bigint() - t0) / 1e6)
          if (Option.isNone(grant)) return yield* Effect.die(new Error(`missing ${id}`))
        }
        return samples
      })
    )
    const missing = await runtime.runPromise(
      Effect.gen(function* () {
        const storage = yield* Storage
        const samples = []
        for (let k = 0; k < 2_000; k++) {
          const t0 = process.hrtime.bigint()
          yield* storage.getGrant(`nobody-${k}`)
          samples.push(Number(process.hrtime.bigint() - t0) / 1e6)
        }
        return samples
      })
    )

    const peakAfterLookupsMb = process.resourceUsage().maxRSS / 1024
    const rssAfterLookupsMb = process.memoryUsage().rss / 1024 / 1024

    // The poller's sweep: one batch of 1,000 (what it reads per pass), and all 10,000.
    const sweep = async (limit) => {
      const samples = []
      let count = 0
      for (let k = 0; k < 5; k++) {
        const t0 = process.hrtime.bigint()
        const flows = await runtime.runPromise(Effect.flatMap(Storage, (s) => s.listActiveFlows(Date.now(), limit)))
        samples.push(Number(process.hrtime.bigint() - t0) / 1e6)
        count = flows.length
      }
      return { ...summarize(samples), count }
    }
    const sweep1k = await sweep(1_000)
    const sweepAll = await sweep(FLOWS)

    const l = summarize(lookups)
    const m = summarize(missing)
    const dbBytes = PG ? await pgSchemaBytes(schema) : fileSize(filename) + fileSize(`${filename}-wal`)
    const peakRssMb = process.resourceUsage().maxRSS / 1024
    const rows = [
      [`getGrant, existing user (${LOOKUPS.toLocaleString("en-US")} random)`, fmt(l.median, 3), fmt(l.p90, 3), fmt(l.p99, 3), fmt(l.max, 3)],
      ["getGrant, unknown user (2,000)", fmt(m.median, 3), fmt(m.p90, 3), fmt(m.p99, 3), fmt(m.max, 3)],
      [`listActiveFlows, limit 1,000 (poller batch; ${sweep1k.count} rows)`, fmt(sweep1k.median), fmt(sweep1k.p90), "–", fmt(sweep1k.max)],
      [`listActiveFlows, all ${FLOWS.toLocaleString("en-US")} (${sweepAll.count} rows)`, fmt(sweepAll.median), fmt(sweepAll.p90), "–", fmt(sweepAll.max)]
    ]
    const markdown = [
      table(["operation", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows),
      "",
      `- ${USERS.toLocaleString("en-US")} grants + ${FLOWS.toLocaleString("en-US")} pending flows loaded in ${fmt(loadSeconds)} s (multi-row inserts in transactions of ${BATCH.toLocaleString("en-US")}; every secret AES-256-GCM encrypted)`,
      PG
        ? `- PostgreSQL tables (incl. indexes and TOAST): **${fmt(dbBytes / 1024 / 1024)} MB**; RSS below is the client process only`
        : `- database file (incl. WAL): **${fmt(dbBytes / 1024 / 1024)} MB**`,
      `- RSS: ${fmt(rssAfterLoadMb, 0)} MB after opening the loaded database (peak so far ${fmt(peakAfterLoadMb, 0)} MB), ${fmt(rssAfterLookupsMb, 0)} MB after the lookups (peak so far ${fmt(peakAfterLookupsMb, 0)} MB)`,
      `- peak RSS of the benchmark process: **${fmt(peakRssMb, 0)} MB** (target < ${TARGET_RSS_MB} MB: ${peakRssMb < TARGET_RSS_MB ? "met" : `missed by ${fmt(peakRssMb - TARGET_RSS_MB, 0)} MB`})`,
      `- getGrant p99: **${fmt(l.p99, 3)} ms** (target < ${TARGET_LOOKUP_P99_MS} ms: ${l.p99 < TARGET_LOOKUP_P99_MS ? "met" : `missed by ${fmt(l.p99 - TARGET_LOOKUP_P99_MS, 3)} ms`})`
    ].join("\n")
    return {
      name: PG ? "storage-pg" : "storage",
      title: `3${PG ? "b" : ""}. Storage: ${USERS.toLocaleString("en-US")} provisioned users, ${FLOWS.toLocaleString("en-US")} pending flows (${PG ? "PostgreSQL, one client process" : "SQLite file"})`,
      markdown,
      data: { rssAfterLoadMb, peakAfterLoadMb, rssAfterLookupsMb, peakAfterLookupsMb, lookup: l, missing: m, sweep1k, sweepAll, loadSeconds, dbBytes, peakRssMb },
      targets: PG ? [] : [
        { what: "getGrant p99", target: `< ${TARGET_LOOKUP_P99_MS} ms`, actual: `${fmt(l.p99, 3)} ms`, met: l.p99 < TARGET_LOOKUP_P99_MS },
        { what: "peak RSS (storage)", target: `< ${TARGET_RSS_MB} MB`, actual: `${fmt(peakRssMb, 0)} MB`, met: peakRssMb < TARGET_RSS_MB }
      ]
    }
  } finally {
    await runtime.dispose()
    tmp.cleanup()
    if (PG) await dropPgSchema(schema)
  }
}

if (process.argv[2] === "--load") {
  await load(process.argv[3], new Uint8Array(Buffer.from(process.argv[4], "base64")))
} else {
  await runStandalone(import.meta, run)
}
