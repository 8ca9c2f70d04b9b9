// 3. Storage at scale: 100,000 provisioned users and 10,000 pending flows in
// one SQLite file (the product's SqliteStorage + Cipher from dist/index.js).
// `--pg` runs the same on PostgreSQL (NC_MCP_BENCH_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/test) in a fresh schema, dropped at the end.
//
// Measured: getGrant lookups; the poller's sweep as the poller does it
// (claimFlows, 1,000 per batch); the database size; and the peak RSS of the
// real server (`node dist/main.js stdio`) holding the loaded database while
// its background poller sweeps the pending flows against the simulator and a
// client calls nc_auth_check_status. The pending flows' poll endpoint is the
// simulator, which answers 404 ("still pending") for their unknown tokens.
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { statSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { INDEX, MAIN, connectStdio, fmt, procMemory, runStandalone, summarize, table, tempDir } from "./lib.mjs"

export const USERS = 100_000
export const FLOWS = 10_000
const BATCH = 5_000
const ROWS_PER_INSERT = 500
const LOOKUPS = 20_000
/** What the poller claims per sweep (SWEEP_BATCH in src/provisioning/Poller.ts). */
const SWEEP_BATCH = 1_000
/** The poller's lease at the default 5 s poll interval: max(10 s, 5 × interval). */
const LEASE_MS = 25_000
/** Full passes over the 10,000 flows, each in batches of SWEEP_BATCH. */
const SWEEP_PASSES = 3
/** The server phase: calls made, and how long the poller runs before the RSS is read. */
const SERVER_CALLS = 3_000
const SERVER_SECONDS = 10
/** The stdio user of the server phase: one of the provisioned users. */
const SERVER_USER = "user-000042@example.org"
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
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

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

/** Fill `filename` with USERS grants and FLOWS pending flows polled at `pollEndpoint`. */
const load = async (filename, key, pollEndpoint) => {
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
            poll_endpoint: pollEndpoint,
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

/**
 * The real server holding the loaded database: `node dist/main.js stdio` with
 * a fast, unthrottled background poller. Calls nc_auth_check_status for its
 * (provisioned) user, lets the poller run SERVER_SECONDS in all, then reads
 * the process's peak RSS before closing it.
 */
const serverPhase = async ({ sim, env, runtime }) => {
  await sim.resetCounters()
  const server = await connectStdio([MAIN, "stdio"], {
    NEXTCLOUD_HOST: sim.url,
    NC_MCP_USER: SERVER_USER,
    NC_MCP_POLL_INTERVAL_SECONDS: "0.5",
    NC_MCP_MAX_POLLS_PER_SECOND: "1000",
    ...env
  })
  if (typeof server.pid !== "number") throw new Error("the SDK transport exposes no pid")
  const started = Date.now()
  // Which flows the server's poller holds, sampled through the window: their union
  // is how many distinct flows it swept.
  const swept = new Set()
  let sampling = true
  const leasedNow = () =>
    runtime.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql`SELECT user_id FROM login_flows WHERE lease_owner LIKE 'poller-%' AND lease_until > ${Date.now()}`
      )
    )
  let rssMaxSampled = 0
  const sampler = (async () => {
    while (sampling) {
      rssMaxSampled = Math.max(rssMaxSampled, procMemory(server.pid).rssMb)
      for (const row of await leasedNow()) swept.add(row.user_id)
      await sleep(250)
    }
  })()
  try {
    const samples = []
    for (let k = 0; k < SERVER_CALLS; k++) {
      const t0 = process.hrtime.bigint()
      const result = await server.client.callTool({ name: "nc_auth_check_status", arguments: {} })
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6)
      if (result.isError || result.structuredContent?.status !== "provisioned") {
        throw new Error(`nc_auth_check_status: ${JSON.stringify(result.structuredContent ?? result.content)}\n${server.stderr()}`)
      }
    }
    while (Date.now() - started < SERVER_SECONDS * 1000) await sleep(100)
    sampling = false
    await sampler
    const memory = procMemory(server.pid)
    const seconds = (Date.now() - started) / 1000
    const counters = await sim.counters()
    const leased = (await leasedNow()).length
    for (const row of await leasedNow()) swept.add(row.user_id)
    const warnings = server.stderr().split("\n").filter((line) => line.trim() !== "").length
    return {
      calls: summarize(samples),
      peakMb: memory.peakMb,
      rssMaxSampledMb: Math.max(memory.rssMb, rssMaxSampled),
      endRssMb: memory.rssMb,
      seconds,
      polls: counters.polls,
      leased,
      swept: swept.size,
      warnings
    }
  } finally {
    sampling = false
    await sampler.catch(() => undefined)
    await server.client.close()
  }
}

export const run = async () => {
  const { Simulator, Storage } = await import(INDEX)
  const sim = await Simulator.startSimulator()
  const tmp = tempDir()
  const schema = `ncmcp_bench_${process.pid}_${randomBytes(3).toString("hex")}`
  const filename = PG ? `pg:${schema}` : path.join(tmp.dir, "bench.db")
  const key = new Uint8Array(randomBytes(32))
  const runtime = ManagedRuntime.make(await storageLayer(filename, key))
  try {
    // The bulk load runs in a child process, so building the database weighs on
    // no process measured here.
    const loadStarted = process.hrtime.bigint()
    const keyBase64 = Buffer.from(key).toString("base64")
    const pollEndpoint = `${sim.url}/index.php/login/v2/poll`
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--load", filename, keyBase64, pollEndpoint, ...(PG ? ["--pg"] : [])], {
      stdio: "inherit"
    })
    const loadSeconds = Number(process.hrtime.bigint() - loadStarted) / 1e9
    await runtime.runPromise(Storage) // open the database

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

    // The poller's sweep, as the poller does it: claimFlows of at most 1,000
    // (SWEEP_BATCH), leased for LEASE_MS. Each batch has its own owner, so it
    // takes the next 1,000 unleased flows (oldest first); a pass is the 10
    // batches that cover all 10,000. Each pass runs LEASE_MS later on the
    // clock handed to claimFlows, when the previous pass's leases have run out.
    const batches = []
    const passes = []
    let lastPass = []
    for (let p = 0; p < SWEEP_PASSES; p++) {
      const claimed = []
      const passStarted = process.hrtime.bigint()
      for (let b = 0; ; b++) {
        const owner = `bench-sweep-${p}-${b}`
        const t0 = process.hrtime.bigint()
        const flows = await runtime.runPromise(
          Effect.flatMap(Storage, (s) => s.claimFlows(owner, Date.now() + p * LEASE_MS, LEASE_MS, SWEEP_BATCH))
        )
        const ms = Number(process.hrtime.bigint() - t0) / 1e6
        if (flows.length === 0) break
        batches.push(ms)
        for (const flow of flows) claimed.push({ userId: flow.userId, owner })
      }
      passes.push(Number(process.hrtime.bigint() - passStarted) / 1e6)
      const distinct = new Set(claimed.map((c) => c.userId)).size
      if (claimed.length !== FLOWS || distinct !== FLOWS) throw new Error(`pass ${p} claimed ${claimed.length} flows (${distinct} distinct), not ${FLOWS}`)
      lastPass = claimed
    }
    // Hand the flows back (as the poller does on shutdown) so the server below can claim them.
    const releaseStarted = process.hrtime.bigint()
    await runtime.runPromise(
      Effect.flatMap(Storage, (s) => Effect.forEach(lastPass, (c) => s.releaseFlow(c.userId, c.owner), { concurrency: 2, discard: true }))
    )
    const releaseSeconds = Number(process.hrtime.bigint() - releaseStarted) / 1e9

    // The expired-flow check reads up to 1,000 active flows per sweep (listActiveFlows).
    const list = []
    let listCount = 0
    for (let k = 0; k < 5; k++) {
      const t0 = process.hrtime.bigint()
      const flows = await runtime.runPromise(Effect.flatMap(Storage, (s) => s.listActiveFlows(Date.now(), SWEEP_BATCH)))
      list.push(Number(process.hrtime.bigint() - t0) / 1e6)
      listCount = flows.length
    }

    const l = summarize(lookups)
    const m = summarize(missing)
    const batch = summarize(batches)
    const pass = summarize(passes)
    const list1k = { ...summarize(list), count: listCount }
    const dbBytes = PG ? await pgSchemaBytes(schema) : fileSize(filename) + fileSize(`${filename}-wal`)
    const benchPeakRssMb = process.resourceUsage().maxRSS / 1024

    // The real server on the same database.
    const server = await serverPhase({
      sim,
      runtime,
      env: PG
        ? { NC_MCP_DATABASE_URL: PG_URL, NC_MCP_DATABASE_SCHEMA: schema, NC_MCP_ENCRYPTION_KEY: keyBase64 }
        : { NC_MCP_DB: filename, NC_MCP_ENCRYPTION_KEY: keyBase64 }
    })
    const rssMet = server.peakMb < TARGET_RSS_MB

    const rows = [
      [`getGrant, existing user (${LOOKUPS.toLocaleString("en-US")} random)`, fmt(l.median, 3), fmt(l.p90, 3), fmt(l.p99, 3), fmt(l.max, 3)],
      ["getGrant, unknown user (2,000)", fmt(m.median, 3), fmt(m.p90, 3), fmt(m.p99, 3), fmt(m.max, 3)],
      [`claimFlows, one poller batch of ${SWEEP_BATCH.toLocaleString("en-US")} (${batch.n} batches)`, fmt(batch.median), fmt(batch.p90), "–", fmt(batch.max)],
      [`claimFlows ×${FLOWS / SWEEP_BATCH}, all ${FLOWS.toLocaleString("en-US")} flows (${pass.n} passes)`, fmt(pass.median), fmt(pass.p90), "–", fmt(pass.max)],
      [`listActiveFlows, limit ${SWEEP_BATCH.toLocaleString("en-US")} (expiry check; ${list1k.count} rows)`, fmt(list1k.median), fmt(list1k.p90), "–", fmt(list1k.max)]
    ]
    const c = server.calls
    const markdown = [
      table(["operation", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows),
      "",
      `- ${USERS.toLocaleString("en-US")} grants + ${FLOWS.toLocaleString("en-US")} pending flows loaded in ${fmt(loadSeconds)} s (multi-row inserts in transactions of ${BATCH.toLocaleString("en-US")}; every secret AES-256-GCM encrypted)`,
      `- poller sweep: claimFlows leases and decrypts ${SWEEP_BATCH.toLocaleString("en-US")} flows per batch (the poller's SWEEP_BATCH, lease ${LEASE_MS / 1000} s); a batch takes **${fmt(batch.median)} ms** (p50, max ${fmt(batch.max)} ms), covering all ${FLOWS.toLocaleString("en-US")} takes **${fmt(pass.median)} ms** (p50 of ${pass.n} passes); releasing the ${FLOWS.toLocaleString("en-US")} leases (one releaseFlow per flow, 2 at a time) took ${fmt(releaseSeconds)} s`,
      PG
        ? `- PostgreSQL tables (incl. indexes and TOAST): **${fmt(dbBytes / 1024 / 1024)} MB**`
        : `- database file (incl. WAL): **${fmt(dbBytes / 1024 / 1024)} MB**`,
      `- **peak RSS of the server process (${USERS.toLocaleString("en-US")} users, ${FLOWS.toLocaleString("en-US")} pending flows, poller sweeping): ${fmt(server.peakMb, 0)} MB** (target < ${TARGET_RSS_MB} MB: ${rssMet ? "met" : `missed by ${fmt(server.peakMb - TARGET_RSS_MB, 0)} MB`}) — VmHWM of \`node dist/main.js stdio\` on this ${PG ? "schema" : "file"}, read after ${fmt(server.seconds)} s with NC_MCP_POLL_INTERVAL_SECONDS=0.5 and NC_MCP_MAX_POLLS_PER_SECOND=1000; RSS at that moment ${fmt(server.endRssMb, 0)} MB`,
      `- meanwhile in the server: ${server.polls.toLocaleString("en-US")} background polls answered "pending" (404) by the simulator (${fmt(server.polls / server.seconds, 0)}/s); its poller leased ${server.leased.toLocaleString("en-US")} flows at the end and ${server.swept.toLocaleString("en-US")} distinct flows over the window (sampled every 250 ms); ${SERVER_CALLS.toLocaleString("en-US")} nc_auth_check_status calls for a provisioned user, p50 ${fmt(c.median, 3)} ms, p99 ${fmt(c.p99, 3)} ms; ${server.warnings} line(s) on its stderr at level warn`,
      `- peak RSS of the benchmark process (information only: it holds its own copy of effect beside dist/index.js, the simulator, and the garbage of the measured loops): ${fmt(benchPeakRssMb, 0)} MB`,
      `- getGrant p99: **${fmt(l.p99, 3)} ms** (target < ${TARGET_LOOKUP_P99_MS} ms: ${l.p99 < TARGET_LOOKUP_P99_MS ? "met" : `missed by ${fmt(l.p99 - TARGET_LOOKUP_P99_MS, 3)} ms`})`
    ].join("\n")
    return {
      name: PG ? "storage-pg" : "storage",
      title: `3${PG ? "b" : ""}. Storage: ${USERS.toLocaleString("en-US")} provisioned users, ${FLOWS.toLocaleString("en-US")} pending flows (${PG ? "PostgreSQL" : "SQLite file"})`,
      markdown,
      data: { lookup: l, missing: m, batch, pass, list1k, releaseSeconds, loadSeconds, dbBytes, benchPeakRssMb, server },
      targets: PG ? [] : [
        { what: "getGrant p99", target: `< ${TARGET_LOOKUP_P99_MS} ms`, actual: `${fmt(l.p99, 3)} ms`, met: l.p99 < TARGET_LOOKUP_P99_MS },
        { what: "peak RSS of the server (storage)", target: `< ${TARGET_RSS_MB} MB`, actual: `${fmt(server.peakMb, 0)} MB`, met: rssMet }
      ]
    }
  } finally {
    await runtime.dispose()
    await sim.close()
    tmp.cleanup()
    if (PG) await dropPgSchema(schema)
  }
}

if (process.argv[2] === "--load") {
  await load(process.argv[3], new Uint8Array(Buffer.from(process.argv[4], "base64")), process.argv[5])
} else {
  await runStandalone(import.meta, run)
}
