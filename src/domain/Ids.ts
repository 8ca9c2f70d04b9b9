import { Schema } from "effect"

/** The caller as this server knows them: `sub` of the bearer token, or NC_MCP_USER in stdio mode. */
export const UserId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512), Schema.brand("UserId"))
export type UserId = typeof UserId.Type
