/**
 * The Nextcloud clients over one shared `HttpClient` configured from
 * `NextcloudConfig`: Login Flow v2, OCS, Notes and WebDAV.
 */
import { Layer } from "effect"
import { HttpClientLive } from "./HttpClientLive.js"
import type { LoginFlowClient } from "./LoginFlowClient.js"
import { LoginFlowClientLive } from "./LoginFlowClientLive.js"
import type { NextcloudConfig } from "./NextcloudConfig.js"
import { type Notes, NotesLive } from "./Notes.js"
import type { Ocs } from "./Ocs.js"
import { OcsLive } from "./OcsLive.js"
import { type WebDav, WebDavLive } from "./WebDav.js"

export type NextcloudClients = LoginFlowClient | Ocs | Notes | WebDav

export const NextcloudLive: Layer.Layer<NextcloudClients, never, NextcloudConfig> = Layer.mergeAll(
  LoginFlowClientLive,
  OcsLive,
  NotesLive,
  WebDavLive
).pipe(Layer.provide(HttpClientLive))
