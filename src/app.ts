/**
 * The layer graph shared by every entrypoint. stdio and http differ only in
 * who the caller is and the transport; embedding programs can assemble the
 * same graph with their own Storage or Nextcloud layers.
 */
import * as os from "node:os"
import { Layer, Logger, type LogLevel } from "effect"
import { ElicitationCompletions } from "./auth/Elicitation.js"
import { logfmtLogger } from "./log/logfmt.js"
import type { GrantChanges } from "./storage/GrantChanges.js"
import { ScopeCache } from "./auth/ScopeCache.js"
import { AppAvailability } from "./tools/availability.js"
import type { LifecycleSettings, NextcloudSettings } from "./Config.js"
import { appClients } from "./apps/registry.js"
import { type CoreClients, withTransport } from "./nextcloud/layer.js"
import { NextcloudConfig } from "./nextcloud/NextcloudConfig.js"
import { PollerLive } from "./provisioning/Poller.js"
import type { Audit } from "./provisioning/Audit.js"
import { Provisioning } from "./provisioning/Provisioning.js"
import { ProvisioningConfig, type ProvisioningConfigShape } from "./provisioning/ProvisioningConfig.js"
import type { Storage } from "./storage/Storage.js"
import { SERVER_VERSION } from "./mcp/server.js"

export const userAgent = (): string => `nextcloud-mcp/${SERVER_VERSION} (${os.hostname()})`

export const nextcloudConfigLayer = (settings: NextcloudSettings): Layer.Layer<NextcloudConfig> =>
  Layer.succeed(NextcloudConfig, {
    host: settings.host,
    publicUrl: settings.publicUrl,
    verifySsl: settings.verifySsl,
    userAgent: userAgent(),
    requestTimeout: settings.timeout,
    maxResponseBytes: settings.maxResponseBytes
  })

export const provisioningConfigLayer = (settings: LifecycleSettings): Layer.Layer<ProvisioningConfig> =>
  ProvisioningConfig.layer({
    pollInterval: settings.pollInterval,
    maxPollsPerSecond: settings.maxPollsPerSecond,
    flowStartLimit: settings.flowStartLimit,
    auditRetention: settings.auditRetention
  } satisfies Partial<ProvisioningConfigShape>)

/** The Nextcloud clients: Login Flow v2 and OCS, and every registered app's client, over one transport. */
export const NextcloudLive = withTransport(appClients)

/** The clients `NextcloudLive` provides. */
export type NextcloudClients = Layer.Layer.Success<typeof NextcloudLive>

/** Everything the tools need: provisioning and its services (the audit log among them), the Nextcloud clients. */
export type AppServices = Provisioning | Audit | AppAvailability | ScopeCache | ElicitationCompletions | Storage | NextcloudConfig | NextcloudClients

/**
 * The core graph over a given Storage and Nextcloud client layer. `poller:
 * false` leaves completion to `nc_auth_check_status` alone (tests).
 * `grantChanges` (with a shared storage) lets the scope cache follow other
 * processes' grant changes; provisioning hears of them through the cache.
 */
export const coreLayer = <Clients, E1, R1, E2, R2, E3 = never, R3 = never>(options: {
  readonly storage: Layer.Layer<Storage, E1, R1>
  /** How grant changes reach other processes sharing the storage (default: in-process only). */
  readonly grantChanges?: Layer.Layer<GrantChanges, E3, R3>
  /** Nextcloud's configuration, the core clients and the apps' clients. */
  readonly nextcloud: Layer.Layer<NextcloudConfig | CoreClients | Clients, E2, R2>
  readonly provisioning: Layer.Layer<ProvisioningConfig>
  readonly poller?: boolean
}) => {
  const scopeCache: Layer.Layer<ScopeCache, E3, Storage | R3> =
    options.grantChanges === undefined ? ScopeCache.layer() : ScopeCache.layer().pipe(Layer.provide(options.grantChanges))
  const base = Layer.mergeAll(
    scopeCache,
    ElicitationCompletions.layer,
    options.provisioning,
    options.nextcloud
  ).pipe(Layer.provideMerge(options.storage))
  const provisioning = Layer.merge(Provisioning.layer, AppAvailability.layer()).pipe(Layer.provideMerge(base))
  return options.poller === false ? provisioning : PollerLive.pipe(Layer.provideMerge(provisioning))
}

/** The live Nextcloud clients (core and registered apps) for the given settings. */
export const nextcloudLayer = (settings: NextcloudSettings) =>
  NextcloudLive.pipe(Layer.provideMerge(nextcloudConfigLayer(settings)))

/** Logs to stderr only (stdout is the MCP channel in stdio mode), at the configured level. */
export const stderrLogger = (level: LogLevel.LogLevel) =>
  Layer.merge(
    // Written to the process's stderr directly, not through the Console service, which a command may
    // replace (the command line silences the argument parser's own error output).
    Logger.replace(Logger.defaultLogger, Logger.map(logfmtLogger, (line) => void process.stderr.write(`${line}\n`))),
    Logger.minimumLogLevel(level)
  )
