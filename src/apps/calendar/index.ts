/** Nextcloud Calendar over CalDAV: the `nc_calendar_*` tools, and CalDAV (events and tasks) in the simulator. */
import { CalDavLive } from "../../nextcloud/caldav.js"
import * as App from "../App.js"
import { calendarTools } from "./tools.js"

export const calendar = App.make({
  id: "calendar",
  tools: calendarTools,
  client: CalDavLive,
  simulator: () => import("./simulator.js").then((part) => part.calendarSimulator)
})
