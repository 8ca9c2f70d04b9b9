/** `nextcloud-mcp simulate`: the simulated Nextcloud with every registered app mounted. */
import { Effect } from "effect"
import { simulatorApps } from "../apps/registry.js"
import { runSimulator } from "../simulator/main.js"
import { startup } from "./startup.js"

export const runSimulate = ({ port, disabledApps }: { readonly port: number; readonly disabledApps: ReadonlyArray<string> }) =>
  Effect.flatMap(Effect.promise(simulatorApps), (apps) => startup(runSimulator({ port, apps, disabledApps })))
