/** Nextcloud Cookbook (docs/nextcloud-protocol.md "Cookbook"): the Cookbook API v1 client, the `nc_cookbook_*` tools, and Cookbook in the simulator. */
import * as App from "../App.js"
import { CookbookLive } from "./Client.js"
import { cookbookTools } from "./tools.js"

export const cookbook = App.make({
  id: "cookbook",
  tools: cookbookTools,
  client: CookbookLive,
  simulator: () => import("./simulator.js").then((part) => part.cookbookSimulator),
  presence: { navigation: "cookbook" }
})
