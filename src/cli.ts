/**
 * The command line (docs/tool-contract.md §1). @effect/cli parses the
 * commands and options; help, `--version` and `--log-level` are handled here
 * first, so they read the same in every command and help is plain text
 * (commands/help.ts). Each command's implementation is loaded on demand, so
 * one command does not pay for loading the others.
 */
import { CliConfig, Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Console, Context, Effect, Layer } from "effect"
import { type CommandHelp, commandHelp, rootHelp } from "./commands/help.js"
import { failStartup, runProcess } from "./commands/startup.js"
import { LOG_LEVELS } from "./Config.js"
import { SERVER_VERSION } from "./mcp/server.js"

const PROGRAM = "nextcloud-mcp"

const SUMMARY =
  "An MCP server that lets AI assistants work in your Nextcloud without you pasting a password: access is granted through Nextcloud Login Flow v2, per user and per scope."

const DEFAULT_HTTP_HOST = "127.0.0.1"
const DEFAULT_HTTP_PORT = "8000"
const DEFAULT_SIMULATOR_PORT = "8080"

const HELP: ReadonlyArray<CommandHelp> = [
  {
    name: "stdio",
    summary: "Serve MCP over stdin/stdout for one local user (what desktop clients start).",
    description: [
      "Serves MCP over stdin/stdout for one local user (NC_MCP_USER). Stdout carries only JSON-RPC; logs go to stderr. Ends when stdin closes or on SIGINT/SIGTERM."
    ],
    options: [],
    environment: "stdio"
  },
  {
    name: "http",
    summary: "Serve MCP Streamable HTTP at /mcp for many users with bearer tokens.",
    description: [
      "Serves MCP Streamable HTTP at /mcp for many users. Every request needs a bearer JWT from NC_MCP_OIDC_ISSUER; its sub is the user. GET /healthz answers without auth; the OAuth protected resource metadata is at /.well-known/oauth-protected-resource/mcp."
    ],
    options: [
      {
        flag: "--host <address>",
        description: "Address to listen on (0.0.0.0 for every interface, e.g. behind a reverse proxy in a container).",
        default: DEFAULT_HTTP_HOST
      },
      { flag: "--port <number>", description: "Port to listen on; 0 picks a free one (the address is logged).", default: DEFAULT_HTTP_PORT }
    ],
    environment: "http"
  },
  {
    name: "simulate",
    summary: "Run the built-in simulated Nextcloud, to try the product without a real server.",
    description: [
      "Runs a simulated Nextcloud on 127.0.0.1 (Login Flow v2, OCS, Notes, WebDAV) with test hooks under /__sim. Point NEXTCLOUD_HOST of a server at the address it logs.",
      "To approve a login, open the login link the server shows in a browser, choose Grant access and sign in as alice (password alice-password); or approve it without a browser:",
      "  curl -X POST <simulator>/__sim/flows/grant -d '{\"flow\":\"<login link>\",\"userId\":\"alice\"}'",
      "GET <simulator>/__sim lists every hook (users, faults, counters, seeded notes and files).",
      "It is also an OpenID issuer for trying http mode: set NC_MCP_OIDC_ISSUER=<simulator> and get a bearer token with",
      "  curl -X POST <simulator>/__sim/oidc/token -d '{\"sub\":\"alice\",\"scope\":\"notes.read notes.write\"}'"
    ],
    options: [
      { flag: "--port <number>", description: "Port on 127.0.0.1.", default: DEFAULT_SIMULATOR_PORT },
      {
        flag: "--disable-apps <ids>",
        description:
          "Nextcloud apps to leave disabled for every user, comma-separated (e.g. news,cookbook): once provisioned, a user does not see their tools. POST /__sim/apps/disabled changes it per user while running.",
        default: "none"
      }
    ]
  },
  {
    name: "demo",
    summary: "Show the whole product end to end, step by step.",
    description: [
      "Starts a simulated Nextcloud, this server over stdio and an MCP client, and prints each step: access requested, the login link, approval, a note written and read back, scopes narrowed, access revoked."
    ],
    options: []
  },
  {
    name: "rotate-key",
    summary: "Re-encrypt every stored secret with the current key.",
    description: [
      "Re-encrypts every stored secret with the current key (NC_MCP_ENCRYPTION_KEY, or the key file <db>.key), reading old values with the keys in NC_MCP_PREVIOUS_ENCRYPTION_KEYS. Prints how many values were re-encrypted; exits 1 and lists them when some cannot be decrypted with any configured key (they are left untouched). Works on SQLite and PostgreSQL, also while servers are running."
    ],
    options: [],
    environment: "rotate-key"
  }
]

const port = (flag: string, text: string) =>
  /^\d{1,5}$/.test(text) && Number(text) <= 65535
    ? Effect.succeed(Number(text))
    : failStartup(`${flag} must be a whole number from 0 to 65535, got '${text.slice(0, 40)}'`)

const lazy = <A>(load: () => Promise<A>) => Effect.promise(load)

/** The Console the process started with: commands print through it (see `withoutParserErrors`). */
class ProcessConsole extends Context.Tag("nextcloud-mcp/ProcessConsole")<ProcessConsole, Console.Console>() {}

/** A command's implementation, with the process's Console back in place. */
const command = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.flatMap(ProcessConsole, (console) => Effect.withConsole(body, console))

const stdio = Command.make("stdio", {}, () => command(Effect.flatMap(lazy(() => import("./commands/stdio.js")), (m) => m.runStdio)))

const http = Command.make(
  "http",
  {
    host: Options.text("host").pipe(Options.withDefault(DEFAULT_HTTP_HOST)),
    port: Options.text("port").pipe(Options.withDefault(DEFAULT_HTTP_PORT))
  },
  (options) =>
    command(
      Effect.flatMap(port("--port", options.port), (p) =>
        Effect.flatMap(lazy(() => import("./commands/http.js")), (m) => m.runHttp({ host: options.host, port: p }))
      )
    )
)

const simulate = Command.make(
  "simulate",
  {
    port: Options.text("port").pipe(Options.withDefault(DEFAULT_SIMULATOR_PORT)),
    disableApps: Options.text("disable-apps").pipe(Options.withDefault(""))
  },
  (options) =>
    command(
      Effect.flatMap(port("--port", options.port), (p) =>
        Effect.flatMap(lazy(() => import("./commands/simulate.js")), (m) =>
          m.runSimulate({
            port: p,
            disabledApps: options.disableApps
              .split(",")
              .map((id) => id.trim())
              .filter((id) => id !== "")
          })
        )
      )
    )
)

const demo = Command.make("demo", {}, () => command(Effect.flatMap(lazy(() => import("./demo/Demo.js")), (m) => m.runDemo)))

const rotateKey = Command.make("rotate-key", {}, () =>
  command(Effect.flatMap(lazy(() => import("./commands/rotateKey.js")), (m) => m.runRotateKey))
)

const root = Command.make(PROGRAM).pipe(Command.withSubcommands([stdio, http, simulate, demo, rotateKey]))

/**
 * @effect/cli prints its own (coloured) parse errors; this program prints one
 * plain line instead. The parser runs with a Console whose `error` is silent;
 * commands get the process's Console back (`command`).
 */
const withoutParserErrors = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Console.consoleWith((console) =>
    Effect.withConsole(
      effect,
      Object.assign(Object.create(console) as Console.Console, {
        error: () => Effect.void,
        unsafe: Object.assign(Object.create(console.unsafe) as Console.UnsafeConsole, { error: () => undefined })
      })
    ).pipe(Effect.provideService(ProcessConsole, console))
  )

const plain = (doc: HelpDoc.HelpDoc): string =>
  // biome-ignore lint: ANSI escape sequences are what is removed
  HelpDoc.toAnsiText(doc).replace(/\u001b\[[0-9;]*m/g, "").replace(/\s+/g, " ").trim()

const run = (args: ReadonlyArray<string>, command: string | undefined) =>
  Command.run(root, { name: PROGRAM, version: SERVER_VERSION })(["node", PROGRAM, ...args]).pipe(
    withoutParserErrors,
    Effect.catchIf(ValidationError.isValidationError, (error) =>
      failStartup(`${plain(error.error)} (see '${PROGRAM}${command === undefined ? "" : ` ${command}`} --help')`)
    ),
    Effect.provide(Layer.merge(NodeContext.layer, CliConfig.layer({ showBuiltIns: false })))
  )

/**
 * `--log-level <level>` is taken out of the arguments and applied as
 * NC_MCP_LOG_LEVEL before anything reads the configuration (the process's
 * logger is set up from it).
 */
const takeLogLevel = (given: ReadonlyArray<string>): { readonly args: ReadonlyArray<string>; readonly error?: string } => {
  const args: Array<string> = []
  for (let i = 0; i < given.length; i++) {
    const arg = given[i] ?? ""
    if (arg !== "--log-level" && !arg.startsWith("--log-level=")) {
      args.push(arg)
      continue
    }
    const level = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : given[++i]
    if (level === undefined || !(LOG_LEVELS as ReadonlyArray<string>).includes(level)) {
      return { args, error: `--log-level must be one of ${LOG_LEVELS.join(", ")}, got '${(level ?? "").slice(0, 40)}'` }
    }
    process.env["NC_MCP_LOG_LEVEL"] = level
  }
  return { args }
}

const { args, error: usageError } = takeLogLevel(process.argv.slice(2))

/** Help and `--version` are answered here; everything else is parsed by @effect/cli. */
const main = Effect.suspend(() => {
  if (usageError !== undefined) return failStartup(usageError)
  const named = HELP.find((c) => c.name === args.find((a) => !a.startsWith("-")))
  if (args.includes("--help") || args.includes("-h")) {
    return Console.log(named === undefined ? rootHelp(PROGRAM, SERVER_VERSION, SUMMARY, HELP) : commandHelp(PROGRAM, named))
  }
  if (args.includes("--version")) return Console.log(`${PROGRAM} ${SERVER_VERSION}`)
  if (args.length === 0) return Console.log(rootHelp(PROGRAM, SERVER_VERSION, SUMMARY, HELP))
  return run(args, named?.name)
})

runProcess(main)
