/**
 * `nextcloud-mcp demo` (docs/tool-contract.md §1): the whole product end to end, printed
 * step by step. The simulated Nextcloud runs in this process; the real server
 * runs as a child process over stdio, driven by the MCP SDK `Client`, exactly
 * as a desktop MCP client would drive it. Everything it starts is stopped and
 * its temporary folder removed when it ends, whatever the outcome.
 *
 * Output goes to stdout: the demo is not an MCP channel. A progress spinner
 * goes to stderr, and only when stderr is a terminal.
 */
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js"
import { Clock, Console, Data, Effect, Fiber, Schedule } from "effect"
import { simulatorApps } from "../apps/registry.js"
import { make as makeSimulator, type SimulatorHandle } from "../simulator/Simulator.js"
import { httpStep } from "./httpStep.js"

/** A step of the demo did not go as it should; printed as one line, exit code 1. */
export class DemoError extends Data.TaggedError("DemoError")<{
  readonly step: string
  readonly message: string
}> {}

export interface DemoOptions {
  /** The bundled CLI (`dist/main.js`) to start as the server. Default: the running script (`process.argv[1]`). */
  readonly serverPath?: string | undefined
  /** The Nextcloud user who approves the login in the simulated browser. Default "alice". */
  readonly nextcloudUser?: string | undefined
  /** How long the simulated user takes to click "Grant access", in ms. Default 1500. */
  readonly approveAfterMillis?: number | undefined
}

const SCOPES = ["notes.read", "notes.write", "calendar.write", "todo.write"] as const
const WAIT_SECONDS = 10

// ---------------------------------------------------------------------------
// Printing

const json = (value: unknown) => JSON.stringify(value)
const line = (text = "") => Console.log(text)
const field = (name: string, value: unknown) => line(`      ${name}: ${json(value)}`)

/** Numbered step headings, counted per run. */
const makeSteps = () => {
  let n = 0
  return (title: string) =>
    Effect.suspend(() => {
      n += 1
      return line(`\n${String(n).padStart(2, " ")}. ${title}`)
    })
}
type Step = ReturnType<typeof makeSteps>
const ok = (text: string) => line(`    ✓ ${text}`)

/** A spinner on stderr while `effect` runs, when stderr is a terminal; nothing otherwise. */
const withSpinner = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  if (process.stderr.isTTY !== true) return effect
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
  let frame = 0
  const draw = Effect.sync(() => {
    process.stderr.write(`\r    ${frames[frame % frames.length] ?? "."} ${label}`)
    frame += 1
  })
  const clear = Effect.sync(() => process.stderr.write(`\r${" ".repeat(label.length + 8)}\r`))
  return Effect.acquireUseRelease(
    Effect.fork(Effect.repeat(draw, Schedule.spaced("80 millis"))),
    () => effect,
    (spinner) => Effect.zipRight(Fiber.interrupt(spinner), clear)
  )
}

// ---------------------------------------------------------------------------
// The MCP client side

interface ToolOutput {
  readonly status?: unknown
  readonly success?: unknown
  readonly message?: unknown
  readonly [field: string]: unknown
}

interface Session {
  readonly client: Client
  readonly stderr: () => string
}

const failure = (stepName: string) => (cause: unknown) =>
  new DemoError({ step: stepName, message: cause instanceof Error ? cause.message : String(cause) })

const callTool = (
  session: Session,
  name: string,
  args: Record<string, unknown>,
  onProgress?: (progress: Progress) => void
): Effect.Effect<ToolOutput, DemoError> =>
  Effect.tryPromise({
    try: (signal) =>
      session.client.callTool(
        { name, arguments: args },
        undefined,
        onProgress === undefined ? { signal } : { signal, onprogress: onProgress, resetTimeoutOnProgress: true }
      ) as Promise<CallToolResult>,
    catch: failure(name)
  }).pipe(
    Effect.flatMap((result) => {
      const output = result.structuredContent as ToolOutput | undefined
      if (output === undefined) return Effect.fail(new DemoError({ step: name, message: "no structured result" }))
      if (result.isError === true || output.success !== true) {
        return Effect.fail(
          new DemoError({ step: name, message: `${String(output["error_code"] ?? output.status)}: ${String(output.message)}` })
        )
      }
      return Effect.succeed(output)
    })
  )

const expectStatus = (name: string, output: ToolOutput, expected: string) =>
  output.status === expected
    ? ok(`status: ${expected}`)
    : Effect.fail(new DemoError({ step: name, message: `expected status "${expected}", got ${json(output.status)}` }))

/** Start `node <serverPath> stdio` and connect; closing the scope closes the client and ends the process. */
const connect = (serverPath: string, env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const transport = new StdioClientTransport({
          command: process.execPath,
          args: [serverPath, "stdio"],
          env,
          stderr: "pipe"
        })
        let stderr = ""
        transport.stderr?.on("data", (chunk: Buffer) => {
          stderr += chunk.toString("utf8")
        })
        const client = new Client({ name: "nextcloud-mcp-demo", version: "1.0.0" }, { capabilities: {} })
        await client.connect(transport)
        return { client, stderr: () => stderr } satisfies Session
      },
      catch: failure("start the server")
    }),
    (session) => Effect.promise(() => session.client.close())
  )

const tempDir = Effect.acquireRelease(
  Effect.tryPromise({
    try: () => mkdtemp(path.join(tmpdir(), "nextcloud-mcp-demo-")),
    catch: failure("create a temporary folder")
  }),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

// ---------------------------------------------------------------------------
// The story

const notesStep = (session: Session) =>
  Effect.gen(function* () {
    const created = yield* callTool(session, "nc_notes_create", {
      title: "Hello from nextcloud-mcp",
      content: "Written through a scoped app password."
    })
    const note = (created["note"] ?? {}) as Record<string, unknown>
    yield* ok(`status: ${String(created.status)}, note id ${json(note["id"])}`)
    const read = yield* callTool(session, "nc_notes_get", { id: note["id"] })
    const readNote = (read["note"] ?? {}) as Record<string, unknown>
    yield* ok(`read back (status: ${String(read.status)})`)
    yield* field("title", readNote["title"])
    yield* field("content", readNote["content"])
  })

/** One event in a time zone and one task with a date-only due, over CalDAV. */
const calendarStep = (session: Session) =>
  Effect.gen(function* () {
    const created = yield* callTool(session, "nc_calendar_create_event", {
      calendar_id: "personal",
      summary: "Dinner with friends",
      start: "2026-12-24T18:00:00+01:00",
      end: "2026-12-24T21:00:00+01:00",
      timezone: "Europe/Berlin"
    })
    const event = (created["event"] ?? {}) as Record<string, unknown>
    yield* ok(`status: ${String(created.status)}, event "${String(event["summary"])}"`)
    yield* field("start", event["start"])
    yield* field("timezone", event["timezone"])
    const task = yield* callTool(session, "nc_tasks_create", { summary: "Buy a present", due: "2026-12-20" })
    const taskOut = (task["task"] ?? {}) as Record<string, unknown>
    yield* ok(`status: ${String(task.status)}, task "${String(taskOut["summary"])}"`)
    yield* field("due", taskOut["due"])
  })

const elapsedSince = (start: number) => Effect.map(Clock.currentTimeMillis, (now) => `${now - start} ms`)

const story = (
  step: Step,
  sim: SimulatorHandle,
  session: Session,
  options: { readonly nextcloudUser: string; readonly approveAfterMillis: number }
) =>
  Effect.gen(function* () {
    const nextcloudUser = options.nextcloudUser

    yield* step("List the tools (tools/list)")
    const { tools } = yield* Effect.tryPromise({ try: () => session.client.listTools(), catch: failure("tools/list") })
    const names = tools.map((t) => t.name)
    yield* ok(`${tools.length} tools`)
    for (const tool of tools) yield* line(`      - ${tool.name}${tool.title === undefined ? "" : `: ${tool.title}`}`)

    yield* step(`Request access: nc_auth_provision_access ${json({ scopes: SCOPES })}`)
    const requested = yield* callTool(session, "nc_auth_provision_access", { scopes: [...SCOPES] })
    yield* expectStatus("nc_auth_provision_access", requested, "login_required")
    yield* field("requested_scopes", requested["requested_scopes"])
    const loginUrl = requested["login_url"]
    if (typeof loginUrl !== "string") {
      return yield* new DemoError({ step: "nc_auth_provision_access", message: "no login_url in the answer" })
    }

    yield* step("Show the login URL to the user")
    yield* line(`    The assistant tells the user to open, and approve:`)
    yield* line(`      ${loginUrl}`)

    yield* step(
      `Wait for approval: nc_auth_check_status ${json({ wait_seconds: WAIT_SECONDS })} with a progress token, while the browser approves`
    )
    const waitStarted = yield* Clock.currentTimeMillis
    const browser = Effect.gen(function* () {
      yield* Effect.sleep(options.approveAfterMillis)
      const granted = yield* sim.grant({ flow: loginUrl, userId: nextcloudUser }).pipe(
        Effect.mapError((e) => new DemoError({ step: "browser approval", message: e.message }))
      )
      yield* line(`    ✓ browser: ${nextcloudUser} logged in and clicked "Grant access" (app password "${granted.name}" created)`)
      return granted
    })
    const onProgress = (p: Progress) =>
      Effect.runSync(
        line(`    … progress ${p.progress}/${p.total ?? "?"} s${p.message === undefined ? "" : `: ${p.message}`}`)
      )
    const [granted, status] = yield* withSpinner(
      "waiting for the login to be approved…",
      Effect.all([browser, callTool(session, "nc_auth_check_status", { wait_seconds: WAIT_SECONDS }, onProgress)], {
        concurrency: 2
      })
    )
    yield* expectStatus("nc_auth_check_status", status, "provisioned")
    yield* field("username", status["username"])
    yield* field("scopes", status["scopes"])
    yield* line(`      (approved and noticed in ${yield* elapsedSince(waitStarted)})`)

    if (names.includes("nc_notes_create") && names.includes("nc_notes_get")) {
      yield* step("Create a note and read it back: nc_notes_create, nc_notes_get")
      yield* notesStep(session).pipe(
        // A simulated Nextcloud without the Notes app answers 404: say so and go on.
        Effect.catchIf(
          (e) => e.step === "nc_notes_create" && e.message.startsWith("NotFound:"),
          (e) => line(`    – skipped: the simulated Nextcloud has no Notes app (${e.message})`)
        )
      )
    }

    if (names.includes("nc_calendar_create_event") && names.includes("nc_tasks_create")) {
      yield* step("Add an event and a task over CalDAV: nc_calendar_create_event, nc_tasks_create")
      yield* calendarStep(session)
    }

    yield* step(`Narrow the access: nc_auth_update_scopes ${json({ remove_scopes: ["notes.write"] })}`)
    const narrowed = yield* callTool(session, "nc_auth_update_scopes", { remove_scopes: ["notes.write"] })
    yield* expectStatus("nc_auth_update_scopes", narrowed, "updated")
    yield* field("previous_scopes", narrowed["previous_scopes"])
    yield* field("new_scopes", narrowed["new_scopes"])
    yield* line("      (narrowing takes effect at once: no new login)")

    yield* step("Revoke the access: nc_auth_revoke_access")
    const revoked = yield* callTool(session, "nc_auth_revoke_access", {})
    yield* expectStatus("nc_auth_revoke_access", revoked, "revoked")
    yield* field("remote_revoked", revoked["remote_revoked"])
    const passwordStatus = yield* sim.appPasswordStatus(granted.appPassword)
    const passwords = yield* sim
      .listAppPasswords(nextcloudUser)
      .pipe(Effect.mapError((e) => new DemoError({ step: "simulator view", message: e.message })))
    const record = passwords.find((p) => p.id === granted.appPasswordId)
    yield* line(
      `    ✓ Nextcloud (simulated) now says: app password "${granted.name}" of ${nextcloudUser} is ${passwordStatus}` +
        (record === undefined ? "" : ` (alive: ${record.alive})`)
    )
    if (passwordStatus === "alive" || record?.alive === true) {
      return yield* new DemoError({ step: "simulator view", message: "the app password still works after revocation" })
    }
    const after = yield* callTool(session, "nc_auth_check_status", {})
    yield* expectStatus("nc_auth_check_status", after, "not_initiated")
  })

/** The demo, with its server at `options.serverPath`. */
export const demo = (options: DemoOptions = {}): Effect.Effect<void, DemoError> =>
  Effect.gen(function* () {
    const step = makeSteps()
    const started = yield* Clock.currentTimeMillis
    const serverPath = path.resolve(options.serverPath ?? process.argv[1] ?? "dist/main.js")
    const nextcloudUser = options.nextcloudUser ?? "alice"
    yield* line("nextcloud-mcp demo: a simulated Nextcloud, the real server over stdio, and an MCP client")

    yield* step("Start a simulated Nextcloud on 127.0.0.1")
    const apps = yield* Effect.promise(simulatorApps)
    const sim = yield* makeSimulator({ apps }).pipe(Effect.mapError(failure("start the simulated Nextcloud")))
    const users = yield* sim.listUsers
    yield* ok(`listening at ${sim.url} (users: ${users.map((u) => u.userId).join(", ")})`)

    yield* step("Start the MCP server over stdio and initialize")
    const dir = yield* tempDir
    const env = {
      NEXTCLOUD_HOST: sim.url,
      NC_MCP_DB: path.join(dir, "nextcloud-mcp.db"),
      NC_MCP_USER: nextcloudUser,
      NC_MCP_POLL_INTERVAL_SECONDS: "0.5",
      NC_MCP_LOG_LEVEL: "warn"
    }
    yield* line(`    node ${path.relative(process.cwd(), serverPath) || serverPath} stdio`)
    for (const [name, value] of Object.entries(env)) yield* line(`      ${name}=${value}`)
    const spawned = yield* Clock.currentTimeMillis
    const session = yield* withSpinner("starting the server…", connect(serverPath, env))
    const info = session.client.getServerVersion()
    yield* ok(`initialize answered in ${yield* elapsedSince(spawned)} by ${info?.name ?? "?"} ${info?.version ?? ""}`.trimEnd())

    yield* story(step, sim, session, { nextcloudUser, approveAfterMillis: options.approveAfterMillis ?? 1500 }).pipe(
      Effect.tapError(() => {
        const log = session.stderr().trim()
        return log === "" ? Effect.void : Console.error(`\nserver log (stderr):\n${log}`)
      })
    )

    yield* httpStep(step, line, sim, { serverPath, dir, user: nextcloudUser }).pipe(
      Effect.mapError((e) => new DemoError({ step: e.step, message: e.message }))
    )

    yield* line(`\n✓ Demo complete in ${yield* elapsedSince(started)}: the server, the simulated Nextcloud and the temporary database are being cleaned up.`)
  }).pipe(
    Effect.scoped,
    Effect.tapError((e) => Console.error(`\n✗ demo failed at "${e.step}": ${e.message}`))
  )

/** `nextcloud-mcp demo`: the running CLI (`process.argv[1]`) serves as the server. */
export const runDemo: Effect.Effect<void, DemoError> = Effect.suspend(() => demo())
