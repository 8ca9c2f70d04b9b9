/** Assertions on tool results shared by the app suites: a success, or a failure with its error code. */
import { expect } from "vitest"
import type { ToolResult } from "./stdioServer.js"

/** The result succeeded; its structured content. */
export const ok = (r: ToolResult) => {
  expect(r.isError ?? false, JSON.stringify(r.structuredContent)).toBe(false)
  expect(r.structuredContent.success).toBe(true)
  return r.structuredContent
}

/** The result failed with `code`; its structured content. */
export const failed = (r: ToolResult, code: string) => {
  expect(r.isError, JSON.stringify(r.structuredContent)).toBe(true)
  expect(r.structuredContent).toMatchObject({ success: false, error_code: code })
  return r.structuredContent
}
