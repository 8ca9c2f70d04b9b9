/** Every tool the server offers, in listing order. */
import { authTools } from "./auth.js"

export const allTools = [...authTools] as const
