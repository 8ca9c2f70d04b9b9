/**
 * Configuration from the environment (docs/tool-contract.md §2). `SETTINGS`
 * lists every variable with its default and meaning, for `--help` and the
 * README (a test checks that the README's tables agree); the `Config`
 * values below read them, with the same defaults. Errors name the variable.
 */
import * as os from "node:os"
import * as path from "node:path"
import { Config, ConfigError, Duration, Either, LogLevel, Option, type Redacted } from "effect"
import { SESSION_DEFAULTS } from "./mcp/httpPolicy.js"
import { NEXTCLOUD_DEFAULTS } from "./nextcloud/NextcloudConfig.js"
import { defaultProvisioningConfig } from "./provisioning/ProvisioningConfig.js"

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const
export type LogLevelName = (typeof LOG_LEVELS)[number]
const DEFAULT_LOG_LEVEL: LogLevelName = "info"

/** The commands that read settings from the environment. */
export type CommandName = "stdio" | "http" | "rotate-key"

const SERVERS: ReadonlyArray<CommandName> = ["stdio", "http"]
const STORAGE: ReadonlyArray<CommandName> = ["stdio", "http", "rotate-key"]
const HTTP: ReadonlyArray<CommandName> = ["http"]
const STDIO: ReadonlyArray<CommandName> = ["stdio"]

/** One environment variable as `--help` and the README show it. */
export interface Setting {
  readonly name: string
  /** The default as people read it; the README's tables say the same. */
  readonly default: string
  /** Where one command's default reads differently (its `--help` shows this). */
  readonly defaultByCommand?: Readonly<Partial<Record<CommandName, string>>>
  readonly description: string
  /** The commands that read it. */
  readonly commands: ReadonlyArray<CommandName>
}

const seconds = (d: Duration.Duration) => String(Duration.toSeconds(d))

/**
 * Every variable, once, in the order `--help` lists them. Numeric defaults
 * come from the services that use them, so they are written in one place.
 */
export const SETTINGS: ReadonlyArray<Setting> = [
  { name: "NEXTCLOUD_HOST", default: "required", commands: SERVERS, description: "Base URL the server uses to reach Nextcloud (may be an internal address)." },
  { name: "NEXTCLOUD_PUBLIC_URL", default: "= NEXTCLOUD_HOST", commands: SERVERS, description: "Origin users' browsers reach Nextcloud at; login links are put on it." },
  { name: "NEXTCLOUD_VERIFY_SSL", default: "true", commands: SERVERS, description: "false accepts self-signed certificates (warns at startup)." },
  { name: "NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS", default: seconds(NEXTCLOUD_DEFAULTS.requestTimeout), commands: SERVERS, description: "The most one call to Nextcloud may take, retries included." },
  { name: "NC_MCP_MAX_RESPONSE_BYTES", default: `${NEXTCLOUD_DEFAULTS.maxResponseBytes} (10 MiB)`, commands: SERVERS, description: "Largest answer read from Nextcloud or the identity provider; a larger one fails the call." },
  { name: "NC_MCP_DB", default: "$XDG_DATA_HOME/nextcloud-mcp/nextcloud-mcp.db (else ~/.local/share/…)", commands: STORAGE, description: "SQLite file; created with its folder if missing." },
  { name: "NC_MCP_DATABASE_URL", default: "unset", commands: STORAGE, description: "postgres://… selects PostgreSQL storage (several replicas share it) instead of SQLite." },
  { name: "NC_MCP_DATABASE_SCHEMA", default: "the URL's search_path", commands: STORAGE, description: "PostgreSQL schema for the tables (created if missing); replicas must use the same one." },
  {
    name: "NC_MCP_ENCRYPTION_KEY",
    default: "stdio with SQLite: generated once into <db>.key (0600); http and PostgreSQL: required",
    defaultByCommand: {
      stdio: "SQLite: generated once into <db>.key (0600); PostgreSQL: required",
      http: "required",
      "rotate-key": "SQLite: the key file <db>.key; PostgreSQL: required"
    },
    commands: STORAGE,
    description: "32 random bytes, base64 or base64url (openssl rand -base64 32); encrypts secrets at rest."
  },
  { name: "NC_MCP_PREVIOUS_ENCRYPTION_KEYS", default: "unset", commands: STORAGE, description: "Comma-separated earlier keys that still decrypt stored secrets while the key is rotated (see rotate-key)." },
  { name: "NC_MCP_USER", default: "the OS user name", commands: STDIO, description: "Identity of the single local user." },
  { name: "NC_MCP_OIDC_ISSUER", default: "required", commands: HTTP, description: "Issuer whose JWT access tokens are accepted; compared verbatim with their iss claim." },
  { name: "NC_MCP_OIDC_JWKS_URL", default: "from the issuer's discovery document", commands: HTTP, description: "The issuer's signing keys." },
  { name: "NC_MCP_AUDIENCE", default: "<NC_MCP_PUBLIC_URL>/mcp", commands: HTTP, description: "Required aud of access tokens." },
  { name: "NC_MCP_PUBLIC_URL", default: "http://<host>:<port>", commands: HTTP, description: "This server's public origin, as clients reach it." },
  { name: "NC_MCP_SESSION_IDLE_MINUTES", default: String(Duration.toMinutes(SESSION_DEFAULTS.idleTimeout)), commands: HTTP, description: "An MCP session with nothing open and unused this long is closed." },
  { name: "NC_MCP_MAX_SESSIONS_PER_USER", default: String(SESSION_DEFAULTS.maxPerUser), commands: HTTP, description: "MCP sessions one user may hold; one more closes their least recently used." },
  { name: "NC_MCP_MAX_SESSIONS", default: String(SESSION_DEFAULTS.maxSessions), commands: HTTP, description: "MCP sessions of all users together; one more closes the one idle longest." },
  { name: "NC_MCP_POLL_INTERVAL_SECONDS", default: seconds(defaultProvisioningConfig.pollInterval), commands: SERVERS, description: "How often pending logins are polled in the background." },
  { name: "NC_MCP_MAX_POLLS_PER_SECOND", default: String(defaultProvisioningConfig.maxPollsPerSecond), commands: SERVERS, description: "Upper bound on background polls towards Nextcloud." },
  { name: "NC_MCP_FLOW_START_LIMIT", default: String(defaultProvisioningConfig.flowStartLimit), commands: SERVERS, description: "Login flows one user may start per hour." },
  { name: "NC_MCP_AUDIT_RETENTION_DAYS", default: String(Duration.toHours(defaultProvisioningConfig.auditRetention) / 24), commands: SERVERS, description: "Audit log entries older than this are deleted." },
  { name: "NC_MCP_LOG_LEVEL", default: DEFAULT_LOG_LEVEL, commands: STORAGE, description: "debug, info, warn or error (logs go to stderr); --log-level wins." }
]

/** The default of `setting` as `command` applies it. */
export const defaultFor = (setting: Setting, command: CommandName): string =>
  setting.defaultByCommand?.[command] ?? setting.default

const defaultDbPath = (): string => {
  const dataHome = process.env["XDG_DATA_HOME"]
  const base = dataHome !== undefined && dataHome !== "" ? dataHome : path.join(os.homedir(), ".local", "share")
  return path.join(base, "nextcloud-mcp", "nextcloud-mcp.db")
}

const defaultUser = (): string => {
  const fromEnv = process.env["USER"] ?? process.env["LOGNAME"]
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv
  return Either.getOrElse(
    Either.try(() => os.userInfo().username),
    () => "local"
  )
}

const stripTrailingSlash = (url: URL): URL => {
  const copy = new URL(url.href)
  copy.pathname = copy.pathname.replace(/\/+$/, "")
  copy.search = ""
  copy.hash = ""
  return copy
}

/**
 * A validation on a named variable: the variable name is put around the
 * validated value (not inside it), so the error names the variable.
 */
const named = <A>(name: string, config: Config.Config<A>): Config.Config<A> => Config.nested(config, name)

/** An http(s) URL; a value without a scheme gets a hint (`cloud.example.com` → `https://cloud.example.com`). */
const httpUrl = (name: string) =>
  named(
    name,
    Config.string().pipe(
      Config.mapOrFail((text) => {
        const trimmed = text.trim()
        if (URL.canParse(trimmed) && /^https?:$/.test(new URL(trimmed).protocol)) return Either.right(new URL(trimmed))
        const hint = /^[A-Za-z0-9.-]+(:\d+)?(\/.*)?$/.test(trimmed) ? ` (did you mean https://${trimmed}?)` : ""
        return Either.left(ConfigError.InvalidData([], `must be an http:// or https:// URL, got "${trimmed.slice(0, 100)}"${hint}`))
      })
    )
  )

const positive = (name: string, fallback: number) =>
  named(
    name,
    Config.number().pipe(
      Config.validate({ message: "must be a positive number", validation: (n) => Number.isFinite(n) && n > 0 })
    )
  ).pipe(Config.withDefault(fallback))

export interface NextcloudSettings {
  readonly host: URL
  readonly publicUrl: URL
  readonly verifySsl: boolean
  /** NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS: one call to Nextcloud, retries included. */
  readonly timeout: Duration.Duration
  /** NC_MCP_MAX_RESPONSE_BYTES: also caps what the identity provider may send. */
  readonly maxResponseBytes: number
}

const wholeNumber = (name: string, min: number, fallback: number) =>
  named(
    name,
    Config.integer().pipe(
      Config.validate({ message: `must be a whole number of at least ${min}`, validation: (n) => n >= min })
    )
  ).pipe(Config.withDefault(fallback))

export const nextcloudSettings: Config.Config<NextcloudSettings> = Config.all({
  host: httpUrl("NEXTCLOUD_HOST").pipe(Config.withDescription("Base URL the server uses to reach Nextcloud")),
  publicUrl: Config.option(httpUrl("NEXTCLOUD_PUBLIC_URL")),
  verifySsl: Config.boolean("NEXTCLOUD_VERIFY_SSL").pipe(Config.withDefault(true)),
  timeout: positive("NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS", Duration.toSeconds(NEXTCLOUD_DEFAULTS.requestTimeout)).pipe(
    Config.map((s) => Duration.millis(s * 1000))
  ),
  maxResponseBytes: wholeNumber("NC_MCP_MAX_RESPONSE_BYTES", 1024, NEXTCLOUD_DEFAULTS.maxResponseBytes)
}).pipe(
  Config.map(({ host, publicUrl, ...rest }) => ({
    host: stripTrailingSlash(host),
    publicUrl: stripTrailingSlash(Option.getOrElse(publicUrl, () => host)),
    ...rest
  }))
)

export interface StorageSettings {
  readonly dbPath: string
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly databaseSchema: Option.Option<string>
  readonly encryptionKey: Option.Option<Redacted.Redacted<string>>
  /** `NC_MCP_PREVIOUS_ENCRYPTION_KEYS`, parsed with the key (errors name the entry). */
  readonly previousEncryptionKeys: Option.Option<Redacted.Redacted<string>>
}

export const storageSettings: Config.Config<StorageSettings> = Config.all({
  // Only an unset variable gets the default; a set but empty one is an error.
  dbPath: Config.string("NC_MCP_DB").pipe(
    Config.validate({ message: "must not be empty", validation: (s) => s.trim() !== "" }),
    Config.option,
    Config.map(Option.getOrElse(defaultDbPath))
  ),
  databaseUrl: Config.option(
    Config.redacted("NC_MCP_DATABASE_URL").pipe(Config.withDescription("postgres:// URL"))
  ),
  databaseSchema: Config.option(
    Config.string("NC_MCP_DATABASE_SCHEMA").pipe(
      Config.validate({
        message: "must be lower-case letters, digits and _ (at most 63, not starting with a digit)",
        validation: (s) => /^[a-z_][a-z0-9_]{0,62}$/.test(s)
      })
    )
  ),
  encryptionKey: Config.option(Config.redacted("NC_MCP_ENCRYPTION_KEY")),
  previousEncryptionKeys: Config.option(Config.redacted("NC_MCP_PREVIOUS_ENCRYPTION_KEYS"))
})

export const toLogLevel = (level: LogLevelName): LogLevel.LogLevel =>
  level === "debug" ? LogLevel.Debug : level === "info" ? LogLevel.Info : level === "warn" ? LogLevel.Warning : LogLevel.Error

export const logLevel: Config.Config<LogLevel.LogLevel> = Config.literal(...LOG_LEVELS)("NC_MCP_LOG_LEVEL").pipe(
  Config.withDefault(DEFAULT_LOG_LEVEL),
  Config.map(toLogLevel)
)

export const stdioUser: Config.Config<string> = Config.string("NC_MCP_USER").pipe(
  Config.validate({ message: "must not be empty", validation: (s) => s.trim() !== "" }),
  Config.option,
  Config.map(Option.getOrElse(defaultUser))
)

/** What http mode needs beyond the common settings (docs/tool-contract.md §2, §4). */
export interface HttpSettings {
  /** Exactly as configured: it is compared with the tokens' `iss` claim verbatim. */
  readonly issuer: string
  readonly jwksUrl: Option.Option<URL>
  /** Unset = `<public URL>/mcp`, known only once the port is bound. */
  readonly audience: Option.Option<string>
  /** Unset = `http://<host>:<port>` of the bound address. */
  readonly publicUrl: Option.Option<URL>
  readonly encryptionKey: Redacted.Redacted<string>
  readonly sessionIdleTimeout: Duration.Duration
  readonly maxSessionsPerUser: number
  /** NC_MCP_MAX_SESSIONS: sessions of all users together. */
  readonly maxSessions: number
}

const nonEmpty = Config.string().pipe(Config.validate({ message: "must not be empty", validation: (s) => s.trim() !== "" }))

export const httpSettings: Config.Config<HttpSettings> = Config.all({
  issuer: named(
    "NC_MCP_OIDC_ISSUER",
    nonEmpty.pipe(
      Config.validate({
        message: "must be the issuer's http:// or https:// URL",
        validation: (s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol)
      })
    )
  ),
  jwksUrl: Config.option(httpUrl("NC_MCP_OIDC_JWKS_URL")),
  audience: Config.option(named("NC_MCP_AUDIENCE", nonEmpty)),
  publicUrl: Config.option(httpUrl("NC_MCP_PUBLIC_URL")).pipe(Config.map(Option.map(stripTrailingSlash))),
  encryptionKey: Config.option(Config.redacted("NC_MCP_ENCRYPTION_KEY")).pipe(
    Config.mapOrFail((key) =>
      Option.match(key, {
        onSome: Either.right,
        onNone: () =>
          Either.left(
            ConfigError.InvalidData(
              ["NC_MCP_ENCRYPTION_KEY"],
              "required in http mode (32 random bytes, base64; e.g. `openssl rand -base64 32`)"
            )
          )
      })
    )
  ),
  sessionIdleTimeout: positive("NC_MCP_SESSION_IDLE_MINUTES", Duration.toMinutes(SESSION_DEFAULTS.idleTimeout)).pipe(
    Config.map((m) => Duration.millis(m * 60_000))
  ),
  maxSessionsPerUser: wholeNumber("NC_MCP_MAX_SESSIONS_PER_USER", 1, SESSION_DEFAULTS.maxPerUser),
  maxSessions: wholeNumber("NC_MCP_MAX_SESSIONS", 1, SESSION_DEFAULTS.maxSessions)
})

export interface LifecycleSettings {
  readonly pollInterval: Duration.Duration
  readonly maxPollsPerSecond: number
  readonly flowStartLimit: number
  readonly auditRetention: Duration.Duration
}

export const lifecycleSettings: Config.Config<LifecycleSettings> = Config.all({
  pollInterval: positive("NC_MCP_POLL_INTERVAL_SECONDS", Duration.toSeconds(defaultProvisioningConfig.pollInterval)).pipe(
    Config.map((s) => Duration.millis(s * 1000))
  ),
  maxPollsPerSecond: positive("NC_MCP_MAX_POLLS_PER_SECOND", defaultProvisioningConfig.maxPollsPerSecond),
  flowStartLimit: positive("NC_MCP_FLOW_START_LIMIT", defaultProvisioningConfig.flowStartLimit).pipe(Config.map(Math.floor)),
  auditRetention: positive("NC_MCP_AUDIT_RETENTION_DAYS", Duration.toHours(defaultProvisioningConfig.auditRetention) / 24).pipe(
    Config.map((d) => Duration.days(d))
  )
})

/** One readable line for a configuration error: the variable and what is wrong. */
export const describeConfigError = (error: ConfigError.ConfigError): string => {
  const leaves: Array<string> = []
  const walk = (e: ConfigError.ConfigError): void => {
    switch (e._op) {
      case "And":
      case "Or":
        walk(e.left)
        walk(e.right)
        return
      case "MissingData":
        leaves.push(`${e.path.join("_") || "configuration"} is required but not set`)
        return
      case "InvalidData":
        leaves.push(`${e.path.join("_") || "configuration"}: ${e.message}`)
        return
      case "SourceUnavailable":
      case "Unsupported":
        leaves.push(`${e.path.join("_") || "configuration"}: ${e.message}`)
        return
    }
  }
  walk(error)
  return Array.from(new Set(leaves)).join("; ")
}

export const isConfigError = ConfigError.isConfigError
