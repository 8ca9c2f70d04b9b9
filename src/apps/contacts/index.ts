/** Contacts over CardDAV: the CardDAV client, the `nc_contacts_*` tools, and CardDAV in the simulator. */
import * as App from "../App.js"
import { CardDavLive } from "./Client.js"
import { contactsTools } from "./tools.js"

export const contacts = App.make({
  id: "contacts",
  tools: contactsTools,
  client: CardDavLive,
  simulator: () => import("./simulator.js").then((part) => part.contactsSimulator)
})
