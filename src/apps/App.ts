/**
 * A Nextcloud app as the server knows it: one value per app folder
 * (`src/apps/<app>/index.ts`), listed once in the registry
 * (`src/apps/registry.ts`). The tool list, the Nextcloud client layer and the
 * apps the simulated Nextcloud mounts are all derived from that list, so an
 * app is added by its folder and one registry line (docs/architecture.md).
 */
import type { HttpClient } from "@effect/platform"
import { Layer } from "effect"
import type * as Scopes from "../domain/Scope.js"
import type { NextcloudConfig } from "../nextcloud/NextcloudConfig.js"
import type { SimulatorApp } from "../simulator/SimulatorApp.js"
import { authTools } from "../tools/auth.js"
import type { Presence } from "../tools/availability.js"
import type { AnyTool } from "../tools/Tool.js"

/** What an app's client layer may build on: the shared, capped `HttpClient` and the Nextcloud configuration. */
export type Transport = HttpClient.HttpClient | NextcloudConfig

/**
 * `Client`: the services of the app's client layer (its API as Effect
 * services). `R`: what its tools need, the adapter's own services included.
 * `Control`: the hooks its simulated part adds.
 */
export interface App<Client, R, Control extends object> {
  /** The app's name in the scope vocabulary: its tools are gated by `<id>.read` / `<id>.write`. */
  readonly id: Scopes.App
  /** Its tools, in listing order. */
  readonly tools: ReadonlyArray<AnyTool<R>>
  /** Its API over the shared transport. */
  readonly client: Layer.Layer<Client, never, Transport>
  /**
   * Its part of the simulated Nextcloud, loaded on demand: the server itself
   * never loads the simulator.
   */
  readonly simulator: () => Promise<SimulatorApp<Control>>
  /**
   * How the server learns that a user's Nextcloud has this app enabled for
   * them: its entry id in the user's navigation
   * (`/ocs/v2.php/core/navigation/apps`) and/or a key of the capabilities
   * (`/ocs/v2.php/cloud/capabilities`); either one present means enabled.
   * Absent: a core part of Nextcloud, always offered (WebDAV files, CalDAV,
   * CardDAV).
   */
  readonly presence?: Presence
  /** Its name for people, in messages ("Deck"); default: the id, capitalised. */
  readonly name?: string
}

// biome-ignore lint: a registry holds apps of every client, requirement and control type
export type AnyApp = App<any, any, any>

export type ClientOf<A> = A extends App<infer Client, infer _R, infer _C> ? Client : never
export type ToolServicesOf<A> = A extends App<infer _Client, infer R, infer _C> ? R : never
export type SimulatorOf<A> = A extends App<infer _Client, infer _R, infer Control> ? SimulatorApp<Control> : never

/**
 * An app's value; the type parameters are inferred. Its app tools are marked
 * with the app (`AppTool.app`), so the server can leave them out for a user
 * whose Nextcloud lacks it.
 */
export const make = <Client, R, Control extends object>(app: App<Client, R, Control>): App<Client, R, Control> => {
  const name = app.name ?? `${app.id.charAt(0).toUpperCase()}${app.id.slice(1)}`
  const marked = { id: app.id, name, ...(app.presence !== undefined ? { presence: app.presence } : {}) }
  return {
    ...app,
    name,
    tools: app.tools.map((tool) => (tool.access === "grant" ? { ...tool, app: marked } : tool))
  }
}

type AuthToolServices = (typeof authTools)[number] extends AnyTool<infer R> ? R : never

/** Every tool the server offers with these apps, in listing order: the auth tools, then each app's. */
export const toolsOf = <const Apps extends ReadonlyArray<AnyApp>>(
  apps: Apps
): ReadonlyArray<AnyTool<AuthToolServices | ToolServicesOf<Apps[number]>>> => [
  ...authTools,
  ...apps.flatMap((app) => app.tools)
]

/** The apps' clients together, over one transport. */
export const clientsOf = <const Apps extends ReadonlyArray<AnyApp>>(
  apps: Apps
): Layer.Layer<ClientOf<Apps[number]>, never, Transport> => {
  // Typed as the union of what the apps provide; `Layer.empty` provides nothing of it yet.
  let clients = Layer.empty as unknown as Layer.Layer<ClientOf<Apps[number]>, never, Transport>
  for (const app of apps) clients = Layer.merge(clients, app.client as Layer.Layer<ClientOf<Apps[number]>, never, Transport>)
  return clients
}

/** The apps' parts of the simulated Nextcloud, to mount with `Simulator.make({ apps })`. */
export const simulatorsOf = <const Apps extends ReadonlyArray<AnyApp>>(
  apps: Apps
): Promise<ReadonlyArray<SimulatorOf<Apps[number]>>> =>
  Promise.all(apps.map((app) => app.simulator() as Promise<SimulatorOf<Apps[number]>>))
