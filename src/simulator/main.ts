/**
 * Run the simulated Nextcloud until interrupted, with the given apps mounted
 * (`nextcloud-mcp simulate` passes the registered ones). It logs through the
 * caller's logger (the command line's goes to stderr).
 */
import { Effect } from "effect"
import { allHookEndpoints, make, type SimulatorOptions, type SimulatorStartError } from "./Simulator.js"
import { DEFAULT_USERS } from "./state.js"

export const DEFAULT_SIMULATOR_PORT = 8080

export const runSimulator = (options: SimulatorOptions = {}): Effect.Effect<never, SimulatorStartError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const sim = yield* make({ ...options, port: options.port ?? DEFAULT_SIMULATOR_PORT })
      const users = options.users ?? DEFAULT_USERS
      yield* Effect.logInfo(`Simulated Nextcloud listening on ${sim.url}`)
      yield* Effect.logInfo(`Login Flow v2: POST ${sim.url}/index.php/login/v2`)
      if (options.disabledApps !== undefined && options.disabledApps.length > 0) {
        yield* Effect.logInfo(`Apps disabled for every user: ${options.disabledApps.join(", ")}`)
      }
      for (const user of users) {
        yield* Effect.logInfo(
          `User uid=${user.userId} login=${user.loginName ?? user.userId}${user.password === undefined ? "" : " (has a login password)"}`
        )
      }
      yield* Effect.logInfo(
        `OpenID issuer for http mode: NC_MCP_OIDC_ISSUER=${sim.url}; a token: curl -s -X POST ${sim.url}/__sim/oidc/token -d '{"sub":"alice","scope":"notes.read notes.write"}'`
      )
      yield* Effect.logInfo(`Test hooks (JSON) under ${sim.url}/__sim:`)
      for (const line of allHookEndpoints(options.apps ?? [])) yield* Effect.logInfo(line.replace(/\s+/g, " "))
      return yield* Effect.never
    })
  )
