/**
 * `user_id` and `username` name different people's handles: the MCP user and
 * the Nextcloud login. The output schemas clients read say which is which.
 */
import { describe, expect, it } from "@effect/vitest"
import { CheckStatusOutput, ProvisionAccessOutput, RevokeAccessOutput } from "../../src/tools/auth.js"
import { toolJsonSchema } from "../../src/tools/jsonSchema.js"

const describedAs = (schema: Parameters<typeof toolJsonSchema>[0], field: string): string => {
  const properties = (toolJsonSchema(schema) as { readonly properties: Record<string, { readonly description?: string }> }).properties
  return properties[field]?.description ?? ""
}

describe("field descriptions of the auth tools' outputs", () => {
  it("user_id is the MCP user, not a Nextcloud name, in every output that has it", () => {
    for (const schema of [ProvisionAccessOutput, CheckStatusOutput, RevokeAccessOutput]) {
      const text = describedAs(schema, "user_id")
      expect(text).toContain("The MCP user")
      expect(text).toContain("not a Nextcloud name")
    }
  })

  it("username is the Nextcloud login name, not the MCP user", () => {
    const text = describedAs(CheckStatusOutput, "username")
    expect(text).toContain("The Nextcloud login name")
    expect(text).toContain("not the MCP user")
  })
})
