/**
 * The command line (docs/tool-contract.md §1) with @effect/cli: usage, options and the
 * environment for every command. Each command's implementation is loaded on
 * demand, so one command does not pay for loading the others.
 */
import { Command, HelpDoc, Options, Span } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect } from "effect"
import { runProcess } from "./commands/startup.js"
import * as AppConfig from "./Config.js"
import { SERVER_VERSION } from "./mcp/server.js"

const environmentHelp = HelpDoc.blocks([
  HelpDoc.h2("Environment"),
  HelpDoc.descriptionList(
    AppConfig.ENVIRONMENT.map((v): [Span.Span, HelpDoc.HelpDoc] => [
      Span.text(v.name),
      HelpDoc.p(`${v.description} Default: ${v.default}.`)
    ]) as unknown as readonly [[Span.Span, HelpDoc.HelpDoc], ...Array<[Span.Span, HelpDoc.HelpDoc]>]
  )
])

const withEnvironmentHelp = (summary: string) => HelpDoc.sequence(HelpDoc.p(summary), environmentHelp)

const stdio = Command.make("stdio", {}, () =>
  Effect.flatMap(Effect.promise(() => import("./commands/stdio.js")), (m) => m.runStdio)
).pipe(
  Command.withDescription(
    withEnvironmentHelp(
      "Serve MCP over stdin/stdout for one local user (NC_MCP_USER). Logs go to stderr; stdout carries only JSON-RPC."
    )
  )
)

const httpHost = Options.text("host").pipe(
  Options.withDefault("127.0.0.1"),
  Options.withDescription("Address to listen on (0.0.0.0 for every interface, e.g. behind a reverse proxy in a container).")
)

const httpPort = Options.integer("port").pipe(
  Options.withDefault(8000),
  Options.withDescription("Port to listen on; 0 picks a free one (the address is logged).")
)

const http = Command.make("http", { host: httpHost, port: httpPort }, (options) =>
  Effect.flatMap(Effect.promise(() => import("./commands/http.js")), (m) => m.runHttp(options))
).pipe(
  Command.withDescription(
    withEnvironmentHelp(
      "Serve MCP Streamable HTTP at /mcp for many users. Every request needs a bearer JWT from NC_MCP_OIDC_ISSUER; its `sub` is the user. GET /healthz answers without auth; OAuth protected resource metadata is at /.well-known/oauth-protected-resource/mcp."
    )
  )
)

const simulatePort = Options.integer("port").pipe(
  Options.withDefault(8080),
  Options.withDescription("Port on 127.0.0.1 for the simulated Nextcloud.")
)

const simulate = Command.make("simulate", { port: simulatePort }, ({ port }) =>
  Effect.flatMap(Effect.promise(() => import("./commands/simulate.js")), (m) => m.runSimulate({ port }))
).pipe(
  Command.withDescription(
    "Run the built-in simulated Nextcloud (Login Flow v2, OCS, and every app the server offers) on 127.0.0.1, with test hooks under /__sim, to try the product without a real server."
  )
)

// Loaded on demand, so starting the server does not load the demo's MCP client.
const demo = Command.make("demo", {}, () => Effect.flatMap(Effect.promise(() => import("./demo/Demo.js")), (m) => m.runDemo)).pipe(
  Command.withDescription("Show the whole product end to end: a simulated Nextcloud, this server over stdio and an MCP client, step by step.")
)

const rotateKey = Command.make("rotate-key", {}, () =>
  Effect.flatMap(Effect.promise(() => import("./commands/rotateKey.js")), (m) => m.runRotateKey)
).pipe(
  Command.withDescription(
    withEnvironmentHelp(
      "Re-encrypt every stored secret with the current key (NC_MCP_ENCRYPTION_KEY, or the key file <db>.key), reading old values with the keys in NC_MCP_PREVIOUS_ENCRYPTION_KEYS; then the previous keys can be removed. Prints how many values were re-encrypted and lists any that no configured key decrypts (left untouched). Works on SQLite and PostgreSQL, also while servers are running."
    )
  )
)

const root = Command.make("nextcloud-mcp").pipe(
  Command.withDescription(
    withEnvironmentHelp(
      "An MCP server that lets AI assistants work in your Nextcloud without you pasting a password: access is granted through Nextcloud Login Flow v2, per user and per scope."
    )
  ),
  Command.withSubcommands([stdio, http, simulate, demo, rotateKey])
)

const cli = Command.run(root, { name: "nextcloud-mcp", version: SERVER_VERSION })

runProcess(cli(process.argv).pipe(Effect.provide(NodeContext.layer)))
