/**
 * The whole server in the test's process: the simulated Nextcloud with the
 * apps mounted, the core layer on a SQLite file in a temporary folder, the
 * real MCP server (`makeMcpServer`) and an SDK `Client` over
 * `InMemoryTransport`. App suites run their tools through it end to end
 * without spawning a process; `provision` signs a user in through the real
 * Login Flow in one call.
 *
 * The background poller is off: a login completes through
 * `nc_auth_check_status`, as `provision` does.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { inspect } from "node:util"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
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
import { ProvisioningConfig } from "../../src/provisioning/ProvisioningConfig.js"
import * as Simulator from "../../src/simulator/index.js"
import * as StorageLayers from "../../src/storage/layer.js"
import type { ToolResult } from "./stdioServer.js"

export interface HarnessOptions<Apps extends ReadonlyArray<AnyApp>> {
  /** The apps the server offers and the simulator mounts. Default: the registered ones. */
  readonly apps?: Apps
  /** The MCP caller's user id. Default "ada-local". */
  readonly user?: string
  /** The caller's token scopes (`null`: no token layer, as in stdio). Default null. */
  readonly tokenScopes?: ReadonlyArray<AppScope> | null
  /** Overrides of the Nextcloud settings (e.g. `requestTimeout`). */
  readonly nextcloud?: Partial<Omit<NextcloudConfigShape, "host">>
  /**
   * NEXTCLOUD_HOST, given the simulator's URL: a server in front of it (e.g. a
   * real WebDAV server passing the rest on to the simulator). Default: the simulator.
   */
  readonly host?: (simulatorUrl: string) => Promise<string>
}

export interface Harness<Control> {
  /** The simulated Nextcloud, with the apps' hooks. */
  readonly sim: Simulator.PromiseSimulator<Control>
  readonly client: Client
  readonly call: (name: string, args?: Record<string, unknown>) => Promise<ToolResult>
  /**
   * Provision the caller through the real Login Flow: request `scopes`
   * (`null`: unrestricted), approve in the simulated browser as the
   * Nextcloud user `userId` (default "ada-5c7e", whose login name differs),
   * and complete with `nc_auth_check_status`. Returns the app password.
   */
  readonly provision: (scopes: ReadonlyArray<string> | null, userId?: string) => Promise<string>
  /** Every line the server logged so far (debug and up). */
  readonly logs: () => string
  readonly close: () => Promise<void>
}

export const startHarness = async <const Apps extends ReadonlyArray<AnyApp> = typeof APPS>(
  options: HarnessOptions<Apps> = {}
): Promise<Harness<Simulator.ControlOfApps<ReadonlyArray<SimulatorOf<Apps[number]>>>>> => {
  const apps: ReadonlyArray<AnyApp> = options.apps ?? APPS
  // The apps' hooks are typed by the caller's `Apps` (the return type); here only the core's are used.
  const sim = (await Simulator.startSimulator({ apps: await simulatorsOf(apps) })) as unknown as Simulator.PromiseSimulator
  const dir = mkdtempSync(path.join(tmpdir(), "ncmcp-inprocess-"))
  const lines: Array<string> = []
  const capture = Layer.merge(
    Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message, annotations }) => {
        lines.push(`${logLevel.label} ${inspect(message, { depth: 6 })} ${inspect(Object.fromEntries(annotations), { depth: 4 })}`)
      })
    ),
    Logger.minimumLogLevel(LogLevel.Debug)
  )
  const config = NextcloudConfig.make(options.host === undefined ? sim.url : await options.host(sim.url), options.nextcloud ?? {})
  const core = coreLayer({
    storage: StorageLayers.layer({ filename: path.join(dir, "state.db"), key: Redacted.make(new Uint8Array(randomBytes(32))) }),
    nextcloud: withTransport(clientsOf(apps)).pipe(Layer.provideMerge(config)),
    provisioning: ProvisioningConfig.layer(),
    poller: false
  })
  const scope = Effect.runSync(Scope.make())
  const closeAll = async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await sim.close()
    rmSync(dir, { recursive: true, force: true })
  }
  const started = await Effect.runPromiseExit(
    Effect.gen(function* () {
      const runtime = yield* Layer.toRuntime(Layer.merge(core, capture))
      const caller = { userId: UserId.make(options.user ?? "ada-local"), tokenScopes: options.tokenScopes ?? null }
      const server = makeMcpServer({ tools: toolsOf(apps), runtime, identify: () => caller })
      const client = new Client({ name: "in-process-test", version: "0.0.1" })
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
    await closeAll()
    throw new Error(`the in-process server did not start: ${String(started.cause)}`)
  }
  const client = started.value
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args })) as ToolResult
  return {
    sim: sim as Harness<never>["sim"],
    client,
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
    logs: () => lines.join("\n"),
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
