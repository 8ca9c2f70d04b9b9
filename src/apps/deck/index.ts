/** Nextcloud Deck (docs/nextcloud-protocol.md, "Deck"): the Deck API client, the `nc_deck_*` tools, and Deck in the simulator. */
import * as App from "../App.js"
import { DeckLive } from "./Client.js"
import { deckTools } from "./tools.js"

export const deck = App.make({
  id: "deck",
  tools: deckTools,
  client: DeckLive,
  simulator: () => import("./simulator.js").then((part) => part.deckSimulator),
  // appinfo/info.xml declares a navigation entry (id "deck"); lib/Capabilities.php the "deck" key.
  presence: { navigation: "deck", capability: "deck" }
})
