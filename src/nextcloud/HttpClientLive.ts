/**
 * The `HttpClient` used towards Nextcloud, configured once from
 * `NextcloudConfig`: User-Agent (Nextcloud names app passwords after it),
 * `Accept: application/json`, and TLS verification per NEXTCLOUD_VERIFY_SSL.
 * It has no timeout of its own: each call's time budget (headers, body and
 * retries together) is kept by `makeCaller` (call.ts).
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer } from "effect"
import { NextcloudConfig } from "./NextcloudConfig.js"

/** Node client; with `verifySsl: false` its HTTPS agent accepts self-signed certificates. */
const nodeClient = (verifySsl: boolean): Layer.Layer<HttpClient.HttpClient> =>
  verifySsl
    ? NodeHttpClient.layer
    : NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer({ rejectUnauthorized: false })))

/** `HttpClient` towards Nextcloud. No trace headers are propagated to Nextcloud. */
export const HttpClientLive: Layer.Layer<HttpClient.HttpClient, never, NextcloudConfig> = Layer.unwrapEffect(
  Effect.map(NextcloudConfig, (config) =>
    Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, (client) =>
        client.pipe(
          HttpClient.mapRequest((request) =>
            HttpClientRequest.setHeaders(request, {
              "user-agent": config.userAgent,
              // A default only: WebDAV requests ask for XML.
              accept: request.headers["accept"] ?? "application/json"
            })
          ),
          HttpClient.withTracerPropagation(false)
        )
      )
    ).pipe(Layer.provide(nodeClient(config.verifySsl)))
  )
)
