/**
 * The simulated Nextcloud as the product's entry points start it: the core
 * with every registered app's part mounted.
 */
import { Effect } from "effect"
import { simulatorApps } from "../../src/apps/registry.js"
import * as Simulator from "../../src/simulator/index.js"

type Options = Omit<Simulator.SimulatorOptions, "apps">

/** `Simulator.make` with the registered apps (Effect API, scoped). */
export const makeSimulatorWithApps = (options: Options = {}) =>
  Effect.flatMap(Effect.promise(simulatorApps), (apps) => Simulator.make({ ...options, apps }))

/** `startSimulator` with the registered apps (Promise API). */
export const startSimulatorWithApps = async (options: Options = {}) =>
  Simulator.startSimulator({ ...options, apps: await simulatorApps() })

export type SimulatorWithApps = Awaited<ReturnType<typeof startSimulatorWithApps>>
