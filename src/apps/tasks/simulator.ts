/**
 * Tasks in the simulated Nextcloud: tasks are VTODOs in CalDAV calendars, and
 * CalDAV is served by the calendar app's part, as in Nextcloud (the Tasks app
 * has no server API of its own). This part therefore adds no routes and no
 * hooks; seed and read tasks with the calendar part's hooks.
 */
import { HttpRouter } from "@effect/platform"
import type { SimulatorApp } from "../../simulator/SimulatorApp.js"

export const tasksSimulator: SimulatorApp<object> = {
  routeKeys: [],
  routeKey: () => undefined,
  hookEndpoints: [],
  mount: () => ({ routes: HttpRouter.empty, hooks: HttpRouter.empty, control: {} }),
  remote: () => ({})
}
