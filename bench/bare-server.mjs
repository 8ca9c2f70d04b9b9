// The baseline: a bare MCP server (the SDK's low-level Server over stdio)
// with one trivial tool, loaded the same way (plain node, no bundling).
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"

const server = new Server({ name: "bare", version: "0.0.0" }, { capabilities: { tools: {} } })
server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    {
      name: "ping",
      description: "Answers pong.",
      inputSchema: { type: "object", properties: {} },
      outputSchema: { type: "object", properties: { status: { type: "string" } }, required: ["status"] }
    }
  ]
}))
server.setRequestHandler(CallToolRequestSchema, async () => {
  const result = { status: "pong" }
  return { structuredContent: result, content: [{ type: "text", text: JSON.stringify(result) }] }
})
const transport = new StdioServerTransport()
transport.onclose = () => process.exit(0)
process.stdin.once("end", () => process.exit(0))
await server.connect(transport)
