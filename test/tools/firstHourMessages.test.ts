/**
 * Messages a new user reads in the first hour, end to end in process: a
 * missing scope says in a sentence which scopes and how to request them; a
 * size just over a limit is told in exact bytes, not "1.0 MiB; … up to 1.0 MiB".
 */
import { describe, expect, it } from "vitest"
import { MAX_TEXT_BYTES } from "../../src/apps/files/tools.js"
import { useHarness } from "../support/inProcess.js"

const harness = useHarness({ user: "ada-local" })

describe("first-hour messages", () => {
  it("a scope the grant lacks: which tool, which scopes, and the nc_auth_update_scopes call that requests them", async () => {
    const h = await harness.start()
    await h.provision(["notes.read"])
    const one = await h.call("nc_notes_create", { title: "x", content: "y" })
    expect(one.structuredContent).toMatchObject({ error_code: "InsufficientScope", missing_scopes: ["notes.write"] })
    expect(one.structuredContent.message).toBe(
      'nc_notes_create needs the scope notes.write, which your Nextcloud access does not include. To request it, call nc_auth_update_scopes with add_scopes: ["notes.write"] and approve the login in Nextcloud.'
    )
  })

  it("a scope the access token lacks: ask the client to sign in again", async () => {
    const h = await harness.start({ tokenScopes: ["notes.read"] })
    const result = await h.call("nc_files_list", { path: "" })
    expect(result.structuredContent.message).toBe(
      "nc_files_list needs the scope files.read, which your access token does not carry. Ask your MCP client to sign in again and grant it."
    )
  })

  it("content one byte over the write limit is told in exact bytes", async () => {
    const h = await harness.start()
    await h.provision(["files.write"])
    const result = await h.call("nc_files_write", { path: "big.txt", content: "a".repeat(MAX_TEXT_BYTES + 1) })
    expect(result.structuredContent).toMatchObject({ error_code: "InvalidArguments" })
    expect(result.structuredContent.message).toBe(
      "The content is 1,048,577 bytes; nc_files_write accepts up to 1,048,576 bytes (1.0 MiB)."
    )
  })
})
