/** Nextcloud sharing (docs/nextcloud-protocol.md "Sharing"): the OCS Share API client, the `nc_sharing_*` tools, and the Share API in the simulator. */
import * as App from "../App.js"
import { SharingLive } from "./Client.js"
import { sharingTools } from "./tools.js"

export const sharing = App.make({
  id: "sharing",
  tools: sharingTools,
  client: SharingLive,
  simulator: () => import("./simulator.js").then((part) => part.sharingSimulator),
  presence: { capability: "files_sharing" }
})
