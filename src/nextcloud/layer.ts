/**
 * The Nextcloud clients over one shared `HttpClient` configured from
 * `NextcloudConfig`. Notes and WebDAV clients join here as they are added.
 */
import { Layer } from "effect"
import { HttpClientLive } from "./HttpClientLive.js"
import type { LoginFlowClient } from "./LoginFlowClient.js"
import { LoginFlowClientLive } from "./LoginFlowClientLive.js"
import type { NextcloudConfig } from "./NextcloudConfig.js"
import type { Ocs } from "./Ocs.js"
import { OcsLive } from "./OcsLive.js"

export const NextcloudLive: Layer.Layer<LoginFlowClient | Ocs, never, NextcloudConfig> = Layer.mergeAll(
  LoginFlowClientLive,
  OcsLive
).pipe(Layer.provide(HttpClientLive))
