/**
 * The simulator for plain async code: `await startSimulator()`, call hooks
 * as Promises, `await sim.close()`. Hook failures reject with the
 * `SimulatorHookError` itself.
 */
import { Cause, Effect, Exit, Scope } from "effect"
import type { SimulatorControl } from "./control.js"
import { promisify, type Promisified } from "./promisify.js"
import { make, type SimulatorOptions } from "./Simulator.js"
import type { AnySimulatorApp, ControlOfApps } from "./SimulatorApp.js"

export type PromiseSimulator<Control = unknown> = Promisified<SimulatorControl & Control> & {
  readonly url: string
  /** Stop the server and drop open connections. */
  readonly close: () => Promise<void>
}

export const startSimulator = async <const Apps extends ReadonlyArray<AnySimulatorApp> = readonly []>(
  options: SimulatorOptions<Apps> = {}
): Promise<PromiseSimulator<ControlOfApps<Apps>>> => {
  const scope = Effect.runSync(Scope.make())
  const started = await Effect.runPromiseExit(Scope.extend(make(options), scope))
  if (Exit.isFailure(started)) {
    await Effect.runPromise(Scope.close(scope, started))
    return Promise.reject(Cause.squash(started.cause))
  }
  const { url, ...control } = started.value
  return {
    ...promisify(control as SimulatorControl & ControlOfApps<Apps>),
    url,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
