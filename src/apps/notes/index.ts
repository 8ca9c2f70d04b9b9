/** Nextcloud Notes (docs/nextcloud-protocol.md §8): the Notes API client, the `nc_notes_*` tools, and Notes in the simulator. */
import * as App from "../App.js"
import { NotesLive } from "./Client.js"
import { notesTools } from "./tools.js"

export const notes = App.make({
  id: "notes",
  tools: notesTools,
  client: NotesLive,
  presence: { navigation: "notes", capability: "notes" },
  simulator: () => import("./simulator.js").then((part) => part.notesSimulator)
})
