import { Context, Duration, Layer } from "effect"

export interface ProvisioningConfigShape {
  /** Nextcloud's Login Flow v2 lifetime (LoginFlowV2Mapper::lifetime = 1200 s). */
  readonly flowLifetime: Duration.Duration
  /** How many flows one user may start per window. */
  readonly flowStartLimit: number
  readonly flowStartWindow: Duration.Duration
  /** How often the background poller polls each pending flow. */
  readonly pollInterval: Duration.Duration
  /** Polls per second across all flows, so many pending users cannot flood Nextcloud. */
  readonly maxPollsPerSecond: number
  /** How often a flow is polled while a client waits for it (`wait_seconds`). */
  readonly waitingPollInterval: Duration.Duration
  /** Expired flows are kept this long so check_status can say they expired; then removed. */
  readonly expiredFlowRetention: Duration.Duration
  /** Audit entries and rate-limit history older than this are pruned. */
  readonly auditRetention: Duration.Duration
}

export const defaultProvisioningConfig: ProvisioningConfigShape = {
  flowLifetime: Duration.minutes(20),
  flowStartLimit: 5,
  flowStartWindow: Duration.hours(1),
  pollInterval: Duration.seconds(5),
  maxPollsPerSecond: 10,
  waitingPollInterval: Duration.seconds(1),
  expiredFlowRetention: Duration.hours(24),
  auditRetention: Duration.days(90)
}

export class ProvisioningConfig extends Context.Tag("nextcloud-mcp/ProvisioningConfig")<
  ProvisioningConfig,
  ProvisioningConfigShape
>() {
  static readonly layer = (overrides: Partial<ProvisioningConfigShape> = {}) =>
    Layer.succeed(ProvisioningConfig, { ...defaultProvisioningConfig, ...overrides })
}
