/** Nextcloud Tasks over CalDAV (VTODOs in calendars): the `nc_tasks_*` tools. */
import { CalDavLive } from "../../nextcloud/caldav.js"
import * as App from "../App.js"
import { tasksTools } from "./tools.js"

export const tasks = App.make({
  id: "todo",
  name: "Tasks",
  tools: tasksTools,
  client: CalDavLive,
  simulator: () => import("./simulator.js").then((part) => part.tasksSimulator)
})
