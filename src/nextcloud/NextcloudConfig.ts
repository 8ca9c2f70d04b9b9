import { Context, Duration, Layer } from "effect"

/** Defaults of the settings behind NextcloudConfig (src/Config.ts shows them in --help). */
export const NEXTCLOUD_DEFAULTS = {
  /** NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS */
  requestTimeout: Duration.seconds(30),
  /** NC_MCP_MAX_RESPONSE_BYTES */
  maxResponseBytes: 10 * 1024 * 1024
} as const

/** How this server reaches Nextcloud. Built once from the configuration (src/Config.ts). */
export interface NextcloudConfigShape {
  /** NEXTCLOUD_HOST: the base URL the server uses (may be internal). No trailing slash. */
  readonly host: URL
  /** NEXTCLOUD_PUBLIC_URL: the origin users' browsers reach Nextcloud at. */
  readonly publicUrl: URL
  /** NEXTCLOUD_VERIFY_SSL. */
  readonly verifySsl: boolean
  /** Sent as User-Agent; Nextcloud names the app password after it. */
  readonly userAgent: string
  /** NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS: the most one call to Nextcloud may take, retries included. */
  readonly requestTimeout: Duration.Duration
  /** NC_MCP_MAX_RESPONSE_BYTES: an answer larger than this fails the call. */
  readonly maxResponseBytes: number
}

export class NextcloudConfig extends Context.Tag("nextcloud-mcp/NextcloudConfig")<
  NextcloudConfig,
  NextcloudConfigShape
>() {
  static readonly make = (
    host: string,
    options: Partial<Omit<NextcloudConfigShape, "host">> = {}
  ): Layer.Layer<NextcloudConfig> =>
    Layer.succeed(NextcloudConfig, {
      host: new URL(host),
      publicUrl: options.publicUrl ?? new URL(host),
      verifySsl: options.verifySsl ?? true,
      userAgent: options.userAgent ?? "nextcloud-mcp",
      requestTimeout: options.requestTimeout ?? NEXTCLOUD_DEFAULTS.requestTimeout,
      maxResponseBytes: options.maxResponseBytes ?? NEXTCLOUD_DEFAULTS.maxResponseBytes
    })
}
