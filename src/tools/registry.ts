/** Every tool the server offers, in listing order. */
import { authTools } from "./auth.js"
import { filesTools } from "./files.js"
import { notesTools } from "./notes.js"

export const allTools = [...authTools, ...notesTools, ...filesTools] as const
