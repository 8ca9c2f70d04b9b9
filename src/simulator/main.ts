/**
 * `nextcloud-mcp simulate`: run the simulated Nextcloud until interrupted.
 * Everything it prints goes to stderr.
 */
import { Effect, Logger } from "effect"
import { hookEndpoints } from "./hooks.js"
import { make, type SimulatorOptions, type SimulatorStartError } from "./Simulator.js"
import { DEFAULT_USERS } from "./state.js"

export const DEFAULT_SIMULATOR_PORT = 8080

const StderrLogger = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

export const runSimulator = (options: SimulatorOptions = {}): Effect.Effect<never, SimulatorStartError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const sim = yield* make({ ...options, port: options.port ?? DEFAULT_SIMULATOR_PORT })
      const users = options.users ?? DEFAULT_USERS
      yield* Effect.logInfo(`Simulated Nextcloud listening on ${sim.url}`)
      yield* Effect.logInfo(`Login Flow v2: POST ${sim.url}/index.php/login/v2`)
      for (const user of users) {
        yield* Effect.logInfo(
          `User uid=${user.userId} login=${user.loginName ?? user.userId}${user.password === undefined ? "" : " (has a login password)"}`
        )
      }
      yield* Effect.logInfo(`Test hooks (JSON) under ${sim.url}/__sim:`)
      for (const line of hookEndpoints) yield* Effect.logInfo(line.replace(/\s+/g, " "))
      return yield* Effect.never
    })
  ).pipe(Effect.provide(StderrLogger))
