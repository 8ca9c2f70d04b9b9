/**
 * The `HttpClient` used towards Nextcloud, configured once from
 * `NextcloudConfig`: User-Agent (Nextcloud names app passwords after it),
 * `Accept: application/json`, a per-request timeout, and TLS verification per
 * NEXTCLOUD_VERIFY_SSL.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer } from "effect"
import { withRequestTimeout } from "./http.js"
import { NextcloudConfig } from "./NextcloudConfig.js"

/** Node client; with `verifySsl: false` its HTTPS agent accepts self-signed certificates. */
const nodeClient = (verifySsl: boolean): Layer.Layer<HttpClient.HttpClient> =>
  verifySsl
    ? NodeHttpClient.layer
    : NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer({ rejectUnauthorized: false })))

/**
 * `HttpClient` towards Nextcloud. A request that gets no answer within
 * `requestTimeout` fails with a transport `RequestError` caused by
 * `RequestTimedOut` (mapped to `NextcloudTransportError{reason:"timeout"}` by
 * `fromHttpClientError`). No trace headers are propagated to Nextcloud.
 */
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
          withRequestTimeout(config.requestTimeout),
          HttpClient.withTracerPropagation(false)
        )
      )
    ).pipe(Layer.provide(nodeClient(config.verifySsl)))
  )
)
