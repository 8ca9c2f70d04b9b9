/**
 * The Nextcloud clients over one shared `HttpClient` configured from
 * `NextcloudConfig`: Login Flow v2 and OCS, plus whatever app clients are
 * given (each app's `Client.ts`), all on the same transport.
 */
import type { HttpClient } from "@effect/platform"
import { Layer } from "effect"
import { HttpClientLive } from "./HttpClientLive.js"
import type { LoginFlowClient } from "./LoginFlowClient.js"
import { LoginFlowClientLive } from "./LoginFlowClientLive.js"
import { type NextcloudApps, NextcloudAppsLive } from "./EnabledApps.js"
import type { NextcloudConfig } from "./NextcloudConfig.js"
import type { Ocs } from "./Ocs.js"
import { OcsLive } from "./OcsLive.js"

/** The clients provisioning needs, whatever apps are offered. */
export type CoreClients = LoginFlowClient | Ocs

/** The core clients and `apps` over one `HttpClient`, with the client that learns which apps a user has. */
export const withTransport = <Apps>(
  apps: Layer.Layer<Apps, never, HttpClient.HttpClient | NextcloudConfig>
): Layer.Layer<CoreClients | NextcloudApps | Apps, never, NextcloudConfig> =>
  Layer.mergeAll(LoginFlowClientLive, OcsLive, NextcloudAppsLive, apps).pipe(Layer.provide(HttpClientLive))
