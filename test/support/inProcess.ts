/**
 * The whole server in the test's process: the simulated Nextcloud with the
 * apps mounted, the core layer on a SQLite file in a temporary folder, the
 * real MCP server (`makeMcpServer`) and an SDK `Client` over
 * `InMemoryTransport`. App suites run their tools through it end to end
 * without spawning a process; `provision` signs a user in through the real
 * Login Flow in one call.
 *
 * The background poller is off unless asked for (`poller: true`): a login
 * completes through `nc_auth_check_status`, as `provision` does. Prefer this
 * to spawning `node dist/main.js` for anything about tool behaviour; see
 * docs/architecture.md, "Tests".
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { inspect } from "node:util"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Exit, Layer, Logger, LogLevel, Redacted, Scope } from "effect"
import { afterEach } from "vitest"
import { coreLayer } from "../../src/app.js"
import { type AnyApp, clientsOf, type SimulatorOf, simulatorsOf, toolsOf } from "../../src/apps/App.js"
import { APPS } from "../../src/apps/registry.js"
import { UserId } from "../../src/domain/Ids.js"
import type { Scope as AppScope } from "../../src/domain/Scope.js"
import { makeMcpServer } from "../../src/mcp/server.js"
import { withTransport } from "../../src/nextcloud/layer.js"
import { NextcloudConfig, type NextcloudConfigShape } from "../../src/nextcloud/NextcloudConfig.js"
import { ProvisioningConfig, type ProvisioningConfigShape } from "../../src/provisioning/ProvisioningConfig.js"
import * as Simulator from "../../src/simulator/index.js"
import * as StorageLayers from "../../src/storage/layer.js"
import { answerElicitations, type ElicitAnswer, type SeenElicitation, type ToolResult } from "./stdioServer.js"

export interface HarnessOptions<Apps extends ReadonlyArray<AnyApp>> {
  /** The apps the server offers and the simulator mounts. Default: the registered ones. */
  readonly apps?: Apps
  /** The MCP caller's user id. Default "ada-local". */
  readonly user?: string
  /** The caller's token scopes (`null`: no token layer, as in stdio). Default null. */
  readonly tokenScopes?: ReadonlyArray<AppScope> | null
  /**
   * NEXTCLOUD_HOST (default: the simulator): another address (e.g. a closed
   * port), or one made from the simulator's URL (e.g. a real WebDAV server in
   * front of it, passing the rest on to the simulator).
   */
  readonly host?: string | ((simulatorUrl: string) => Promise<string>)
  /** Overrides of the Nextcloud settings (e.g. `requestTimeout`). */
  readonly nextcloud?: Partial<Omit<NextcloudConfigShape, "host">>
  /** Overrides of the provisioning settings (e.g. `pollInterval`, `flowStartLimit`). */
  readonly provisioning?: Partial<ProvisioningConfigShape>
  /** Run the background poller (default false: a login completes through `nc_auth_check_status`). */
  readonly poller?: boolean
  /** What the MCP client declares (e.g. `{ elicitation: { url: {} } }`). */
  readonly capabilities?: ClientCapabilities
  /** Answers to elicitation requests, consumed in order ("cancel" when exhausted). */
  readonly answers?: ReadonlyArray<ElicitAnswer>
  /** The storage key (default: the harness's own random key, `database.key`). */
  readonly encryptionKey?: Uint8Array
}

export type { SeenElicitation } from "./stdioServer.js"

export interface Harness<Control> {
  /** The simulated Nextcloud, with the apps' hooks. */
  readonly sim: Simulator.PromiseSimulator<Control>
  /** The client of the running server (a new one after `restart`). */
  readonly client: Client
  readonly call: (name: string, args?: Record<string, unknown>) => Promise<ToolResult>
  /**
   * Provision the caller through the real Login Flow: request `scopes`
   * (`null`: unrestricted), approve in the simulated browser as the
   * Nextcloud user `userId` (default "ada-5c7e", whose login name differs),
   * and complete with `nc_auth_check_status`. Returns the app password.
   */
  readonly provision: (scopes: ReadonlyArray<string> | null, userId?: string) => Promise<string>
  /** Elicitation requests the server sent, in order (across restarts). */
  readonly elicitations: Array<SeenElicitation>
  /** The ids of the URL elicitations the server reported complete, in order. */
  readonly completedElicitations: Array<string>
  /** Every line the server logged so far (debug and up, across restarts). */
  readonly logs: () => string
  /**
   * Stop the server (its layers, the poller, the client) and start it again
   * on the same database and simulator, with `overrides` on the options.
   */
  readonly restart: (overrides?: ServerOverrides) => Promise<void>
  /** The SQLite file the server runs on, and the harness's own key for it. */
  readonly database: { readonly file: string; readonly key: Uint8Array }
  readonly close: () => Promise<void>
}

/** What may change when the server restarts (not the apps: the simulator stays). */
export type ServerOverrides = Omit<HarnessOptions<ReadonlyArray<AnyApp>>, "apps">

interface RunningServer {
  readonly client: Client
  readonly stop: () => Promise<void>
}

/** The server over `dbFile` and a linked in-memory client, until `stop`. */
const startServer = async (
  apps: ReadonlyArray<AnyApp>,
  simUrl: string,
  dbFile: string,
  key: Uint8Array,
  options: ServerOverrides,
  seen: { readonly lines: Array<string>; readonly elicitations: Array<SeenElicitation>; readonly completed: Array<string> }
): Promise<RunningServer> => {
  const capture = Layer.merge(
    Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message, annotations }) => {
        seen.lines.push(`${logLevel.label} ${inspect(message, { depth: 6 })} ${inspect(Object.fromEntries(annotations), { depth: 4 })}`)
      })
    ),
    Logger.minimumLogLevel(LogLevel.Debug)
  )
  const host = options.host === undefined ? simUrl : typeof options.host === "string" ? options.host : await options.host(simUrl)
  const config = NextcloudConfig.make(host, options.nextcloud ?? {})
  const core = coreLayer({
    storage: StorageLayers.layer({ filename: dbFile, key: Redacted.make(options.encryptionKey ?? key) }),
    nextcloud: withTransport(clientsOf(apps)).pipe(Layer.provideMerge(config)),
    provisioning: ProvisioningConfig.layer(options.provisioning ?? {}),
    poller: options.poller ?? false
  })
  const scope = Effect.runSync(Scope.make())
  const stop = () => Effect.runPromise(Scope.close(scope, Exit.void))
  const answers = [...(options.answers ?? [])]
  const started = await Effect.runPromiseExit(
    Effect.gen(function* () {
      // The core is built under the capturing logger too, so the poller it forks logs there, not to stdout.
      const runtime = yield* Layer.toRuntime(Layer.merge(core.pipe(Layer.provide(capture)), capture))
      const caller = { userId: UserId.make(options.user ?? "ada-local"), tokenScopes: options.tokenScopes ?? null }
      const server = makeMcpServer({ tools: toolsOf(apps), runtime, identify: () => caller })
      const client = new Client({ name: "in-process-test", version: "0.0.1" }, { capabilities: options.capabilities ?? {} })
      if (options.capabilities?.elicitation !== undefined) answerElicitations(client, answers, seen.elicitations, seen.completed)
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
      yield* Effect.acquireRelease(
        Effect.promise(async () => {
          await server.connect(serverSide)
          await client.connect(clientSide)
        }),
        () => Effect.promise(() => client.close())
      )
      return client
    }).pipe(Scope.extend(scope))
  )
  if (Exit.isFailure(started)) {
    await stop()
    throw new Error(`the in-process server did not start: ${String(started.cause)}`)
  }
  return { client: started.value, stop }
}

export const startHarness = async <const Apps extends ReadonlyArray<AnyApp> = typeof APPS>(
  options: HarnessOptions<Apps> = {}
): Promise<Harness<Simulator.ControlOfApps<ReadonlyArray<SimulatorOf<Apps[number]>>>>> => {
  const apps: ReadonlyArray<AnyApp> = options.apps ?? APPS
  // The apps' hooks are typed by the caller's `Apps` (the return type); here only the core's are used.
  const sim = (await Simulator.startSimulator({ apps: await simulatorsOf(apps) })) as unknown as Simulator.PromiseSimulator
  const dir = mkdtempSync(path.join(tmpdir(), "ncmcp-inprocess-"))
  const dbFile = path.join(dir, "state.db")
  const key = new Uint8Array(randomBytes(32))
  const seen = { lines: new Array<string>(), elicitations: new Array<SeenElicitation>(), completed: new Array<string>() }
  let current: RunningServer | undefined
  let settings: ServerOverrides = options
  const closeAll = async () => {
    const running = current
    current = undefined
    await running?.stop()
    await sim.close()
    rmSync(dir, { recursive: true, force: true })
  }
  const running = () => {
    if (current === undefined) throw new Error("the in-process server is not running")
    return current
  }
  try {
    current = await startServer(apps, sim.url, dbFile, key, settings, seen)
  } catch (error) {
    await closeAll()
    throw error
  }
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await running().client.callTool({ name, arguments: args })) as ToolResult
  return {
    sim: sim as Harness<never>["sim"],
    get client() {
      return running().client
    },
    call,
    provision: async (scopes, userId = "ada-5c7e") => {
      const requested = await call("nc_auth_provision_access", scopes === null ? {} : { scopes: [...scopes] })
      const granted = await sim.grant({ flow: requested.structuredContent.login_url, userId })
      const status = await call("nc_auth_check_status")
      if (status.structuredContent.status !== "provisioned") {
        throw new Error(`provisioning did not complete: ${JSON.stringify(status.structuredContent)}`)
      }
      return granted.appPassword
    },
    elicitations: seen.elicitations,
    completedElicitations: seen.completed,
    logs: () => seen.lines.join("\n"),
    restart: async (overrides = {}) => {
      const previous = running()
      current = undefined
      await previous.stop()
      settings = { ...settings, ...overrides }
      current = await startServer(apps, sim.url, dbFile, key, settings, seen)
    },
    database: { file: dbFile, key },
    close: closeAll
  }
}

/**
 * `startHarness` per test: `start` brings it up (with the suite's options,
 * overridden per call), and it is closed after the test.
 */
export const useHarness = <const Apps extends ReadonlyArray<AnyApp> = typeof APPS>(defaults: HarnessOptions<Apps> = {}) => {
  let running: { readonly close: () => Promise<void> } | undefined
  afterEach(async () => {
    await running?.close()
    running = undefined
  })
  return {
    start: async (overrides: HarnessOptions<Apps> = {}) => {
      const harness = await startHarness<Apps>({ ...defaults, ...overrides })
      running = harness
      return harness
    }
  }
}
