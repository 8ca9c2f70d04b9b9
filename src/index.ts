/**
 * Embedding API: the layers, tool values and schemas of nextcloud-mcp, to build
 * the server inside another Effect program (with its own CurrentUser, Storage
 * or Nextcloud layers).
 */
export * as Scopes from "./domain/Scope.js"
export * from "./domain/Errors.js"
export { UserId } from "./domain/Ids.js"
export { CurrentUser, type CurrentUserShape } from "./auth/CurrentUser.js"
export { GrantChanges, inProcess as inProcessGrantChanges, type GrantChangeHandlers, type GrantChangesShape } from "./storage/GrantChanges.js"
export { ScopeCache, type ScopeCacheShape, type AnnouncedChange } from "./auth/ScopeCache.js"
export { requireScopes, type ScopeCheck } from "./tools/access.js"
export {
  Elicitation,
  ElicitationCompletions,
  type ElicitationShape,
  type LoginUrlOutcome,
  type PresentedLogin
} from "./auth/Elicitation.js"
export { Progress, type ProgressShape } from "./tools/Progress.js"
export {
  Provisioning,
  type ProvisionResult,
  type StatusResult,
  type UpdateResult,
  type RevokeResult
} from "./provisioning/Provisioning.js"
export { LoginFlows, type PollOutcome } from "./provisioning/LoginFlows.js"
export { Audit, type AuditShape, type Refusal } from "./provisioning/Audit.js"
export { SettledFlows, type SettledFlowsShape } from "./provisioning/SettledFlows.js"
export { StoredFlows, type StoredFlowsShape } from "./provisioning/StoredFlows.js"
export { UserLocks, type UserLocksShape } from "./provisioning/UserLocks.js"
export { ProvisioningConfig, defaultProvisioningConfig } from "./provisioning/ProvisioningConfig.js"
export { PollerLive, makePoller } from "./provisioning/Poller.js"
export {
  Storage,
  StorageError,
  type StorageShape,
  type Grant,
  type PendingFlow,
  type AuditEntry,
  type AuditEvent
} from "./storage/Storage.js"
export * as StorageLayers from "./storage/layer.js"
export { SqliteStorage } from "./storage/SqliteStorage.js"
export { Cipher } from "./storage/Cipher.js"
export { LoginFlowClient } from "./nextcloud/LoginFlowClient.js"
export { Ocs, type Credentials, type DavAccount, type NextcloudUser } from "./nextcloud/Ocs.js"
export { NextcloudConfig } from "./nextcloud/NextcloudConfig.js"
export { withTransport, type CoreClients } from "./nextcloud/layer.js"
export {
  Notes,
  NotesLive,
  Note,
  NoteSummary,
  type NotesShape,
  type NotesPage,
  type NoteInput,
  type ListNotesOptions
} from "./apps/notes/Client.js"
export {
  WebDav,
  WebDavLive,
  NextcloudBodyTooLarge,
  davUrl,
  type WebDavShape,
  type DavEntry,
  type FileContent,
  type WriteOptions,
  type WriteResult
} from "./apps/files/Client.js"
export * from "./nextcloud/errors.js"
export { parseMultistatus, type DavResource } from "./nextcloud/davMultistatus.js"
export * as Tool from "./tools/Tool.js"
export { runTool } from "./tools/run.js"
export { whileTrying, NextcloudCallFailed, type NextcloudFailure } from "./tools/nextcloudFailures.js"
export { credentialsOf, davAccountOf } from "./tools/account.js"
export { toolJsonSchema } from "./tools/jsonSchema.js"
export * as AuthTools from "./tools/auth.js"
export * as NotesTools from "./apps/notes/tools.js"
export * as FilesTools from "./apps/files/tools.js"
export { normalisePath, displayPath } from "./apps/files/paths.js"
export * as App from "./apps/App.js"
export { APPS, allTools, appClients, simulatorApps } from "./apps/registry.js"
export { makeMcpServer, listing, visibleTools, type McpServerOptions, type RequestServices } from "./mcp/server.js"
export { serveStdio } from "./mcp/stdio.js"
export { serveHttp, type ServeHttpOptions } from "./mcp/http/serve.js"
export { TokenVerifier, TokenRejected, IssuerUnavailable, type VerifiedToken } from "./auth/TokenVerifier.js"
export {
  coreLayer,
  NextcloudLive,
  nextcloudLayer,
  nextcloudConfigLayer,
  provisioningConfigLayer,
  stderrLogger,
  type AppServices,
  type NextcloudClients
} from "./app.js"
export * as Simulator from "./simulator/index.js"
