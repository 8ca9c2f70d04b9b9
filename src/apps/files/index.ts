/** The user's files over WebDAV (docs/nextcloud-protocol.md §9): the WebDAV client, the `nc_files_*` tools, and WebDAV in the simulator. */
import * as App from "../App.js"
import { WebDavLive } from "./Client.js"
import { filesTools } from "./tools.js"

export const files = App.make({
  id: "files",
  tools: filesTools,
  client: WebDavLive,
  simulator: () => import("./simulator.js").then((part) => part.filesSimulator)
})
