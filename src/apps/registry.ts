/**
 * The Nextcloud apps this server offers, in listing order. An app is added
 * here, one line, once its folder exists (docs/architecture.md, "Adding an
 * app"); everything else is derived from this list.
 */
import { clientsOf, simulatorsOf, toolsOf } from "./App.js"
import { calendar } from "./calendar/index.js"
import { contacts } from "./contacts/index.js"
import { cookbook } from "./cookbook/index.js"
import { deck } from "./deck/index.js"
import { files } from "./files/index.js"
import { news } from "./news/index.js"
import { notes } from "./notes/index.js"
import { sharing } from "./sharing/index.js"
import { tables } from "./tables/index.js"
import { tasks } from "./tasks/index.js"

export const APPS = [notes, files, calendar, tasks, contacts, deck, tables, sharing, news, cookbook] as const

/** Every tool the server offers: the auth tools, then each app's. */
export const allTools = toolsOf(APPS)

/** The registered apps' clients, over the shared transport. */
export const appClients = clientsOf(APPS)

/** The registered apps' parts of the simulated Nextcloud (loaded on demand). */
export const simulatorApps = () => simulatorsOf(APPS)
