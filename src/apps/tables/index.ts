/** Nextcloud Tables (docs/nextcloud-protocol.md, "Tables"): the Tables API client, the `nc_tables_*` tools, and Tables in the simulator. */
import * as App from "../App.js"
import { TablesLive } from "./Client.js"
import { tablesTools } from "./tools.js"

export const tables = App.make({
  id: "tables",
  tools: tablesTools,
  client: TablesLive,
  simulator: () => import("./simulator.js").then((part) => part.tablesSimulator),
  // appinfo/info.xml declares a navigation entry (id "tables"); lib/Capabilities.php the "tables" key
  // (which carries `enabled`: whether the app is enabled for the user).
  presence: { navigation: "tables", capability: "tables" }
})
