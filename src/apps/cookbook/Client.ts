/**
 * Nextcloud Cookbook API v1 (`/index.php/apps/cookbook/api/v1/`,
 * docs/nextcloud-protocol.md "Cookbook"), called with the user's app password
 * as Basic auth. Recipes are schema.org Recipe JSON; the API answers a create
 * or update with the recipe's id, a refusal with `{"msg": …}` or a JSON
 * string.
 *
 * Reads are retried on a refused connection or a 5xx; writes are not.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Context, Data, Effect, Either, Layer, Schema } from "effect"
import { makeCaller } from "../../nextcloud/call.js"
import { type DataCallError, expectStatus, unexpectedStatus } from "../../nextcloud/errors.js"
import { decodeJsonBody, type NextcloudResponse, underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../nextcloud/Ocs.js"

const Id = Schema.Union(Schema.String, Schema.Number).pipe(
  Schema.transform(Schema.String, { strict: true, decode: (id) => String(id), encode: (id) => id })
)

/** A search or list hit (`RecipeStub`). */
export const RecipeStub = Schema.Struct({
  recipe_id: Schema.optional(Schema.Union(Schema.Number, Schema.String)),
  id: Schema.optional(Id),
  name: Schema.String,
  keywords: Schema.optional(Schema.NullOr(Schema.String)),
  category: Schema.optional(Schema.NullOr(Schema.String)),
  dateCreated: Schema.optional(Schema.NullOr(Schema.String)),
  dateModified: Schema.optional(Schema.NullOr(Schema.String))
})
export type RecipeStub = typeof RecipeStub.Type

/** A whole recipe: schema.org Recipe JSON, every field kept (`name` and `id` required). */
export type RecipeJson = Readonly<Record<string, unknown>> & { readonly id: string; readonly name: string }

const RecipeObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })
const RecipeWithId = Schema.Struct({ id: Id, name: Schema.String })

/** Cookbook refused a write or an import (400, 422); `reason` is its message, shortened. */
export class CookbookRefused extends Data.TaggedError("CookbookRefused")<{
  readonly operation: string
  readonly status: number
  readonly reason: string
}> {}

export type CookbookCallError = DataCallError | CookbookRefused

export interface CookbookShape {
  /** Every recipe (`query` undefined), or those whose name, keyword or category contains a word of `query`. */
  readonly search: (credentials: Credentials, query?: string) => Effect.Effect<ReadonlyArray<RecipeStub>, DataCallError>
  readonly get: (credentials: Credentials, id: string) => Effect.Effect<{ readonly recipe: RecipeJson; readonly body: string }, DataCallError>
  /** The new recipe's id. 409: a recipe of that name exists. */
  readonly create: (credentials: Credentials, recipe: Readonly<Record<string, unknown>>) => Effect.Effect<string, CookbookCallError>
  /** Writes the whole recipe (it must carry its `id`); the recipe's id. */
  readonly update: (credentials: Credentials, id: string, recipe: Readonly<Record<string, unknown>>) => Effect.Effect<string, CookbookCallError>
  /** Cookbook answers an unknown id with 502: check it exists first. */
  readonly delete: (credentials: Credentials, id: string) => Effect.Effect<void, DataCallError>
  readonly importUrl: (credentials: Credentials, url: string) => Effect.Effect<RecipeJson, CookbookCallError>
}

export class Cookbook extends Context.Tag("nextcloud-mcp/Cookbook")<Cookbook, CookbookShape>() {}

const API = "index.php/apps/cookbook/api/v1"

/** Cookbook's error bodies: `{"msg": …}` or a bare JSON string. */
const reasonOf = (response: NextcloudResponse): string => {
  const parsed = Schema.decodeUnknownEither(Schema.parseJson())(response.body)
  const value: unknown = Either.isRight(parsed) ? parsed.right : null
  const text =
    typeof value === "string"
      ? value
      : typeof value === "object" && value !== null && typeof (value as { msg?: unknown }).msg === "string"
        ? (value as { msg: string }).msg
        : ""
  const reason = text.replace(/\s+/g, " ").trim()
  return reason.length > 300 ? `${reason.slice(0, 300)}…` : reason
}

/**
 * The search route takes the query as a path segment and URL-decodes it once
 * more after routing (`urldecode`, where `+` is a space): encoding it twice
 * makes every character, `/`, `%` and `+` included, arrive as typed.
 */
export const searchSegment = (query: string): string => encodeURIComponent(encodeURIComponent(query))

export const CookbookLive: Layer.Layer<Cookbook, never, HttpClient.HttpClient | NextcloudConfig> = Layer.effect(
  Cookbook,
  Effect.gen(function* () {
    const config = yield* NextcloudConfig
    const nc = makeCaller(yield* HttpClient.HttpClient, config)
    const url = (path: string) => underBase(config.host, `${API}/${path}`)

    /** A read or a delete: every status but 200 is an error of its own kind. */
    const send = (operation: string, request: HttpClientRequest.HttpClientRequest, credentials: Credentials) =>
      nc.json(operation, request, credentials).pipe(Effect.flatMap(expectStatus(operation, [200])))

    /** A write: Cookbook's 400 and 422 carry the reason it refused the recipe. */
    const write = (operation: string, request: HttpClientRequest.HttpClientRequest, credentials: Credentials) =>
      nc.json(operation, request, credentials).pipe(
        Effect.flatMap((response): Effect.Effect<NextcloudResponse, CookbookCallError> =>
          response.status === 400 || response.status === 422
            ? Effect.fail(new CookbookRefused({ operation, status: response.status, reason: reasonOf(response) }))
            : expectStatus(operation, [200])(response)
        )
      )

    const search = Effect.fn("Cookbook.search")(function* (credentials: Credentials, query?: string) {
      const operation = "Cookbook.search"
      const path = query === undefined ? "recipes" : `search/${searchSegment(query)}`
      const response = yield* send(operation, HttpClientRequest.get(url(path)), credentials)
      return yield* decodeJsonBody(Schema.Array(RecipeStub), operation)(response)
    })

    const get = Effect.fn("Cookbook.get")(function* (credentials: Credentials, id: string) {
      const operation = "Cookbook.get"
      const response = yield* send(operation, HttpClientRequest.get(url(`recipes/${encodeURIComponent(id)}`)), credentials)
      const recipe = yield* decodeJsonBody(RecipeObject, operation)(response)
      const required = yield* decodeJsonBody(RecipeWithId, operation)(response)
      return { recipe: { ...recipe, id: required.id, name: required.name } as RecipeJson, body: response.body }
    })

    const idAnswer = (operation: string) => (response: NextcloudResponse) =>
      decodeJsonBody(Schema.Union(Schema.Number, Schema.String), operation)(response).pipe(
        Effect.flatMap((id) =>
          String(id).trim() === "" ? Effect.fail(unexpectedStatus(operation, response.status, "no recipe id in the answer")) : Effect.succeed(String(id))
        )
      )

    const create = Effect.fn("Cookbook.create")(function* (credentials: Credentials, recipe: Readonly<Record<string, unknown>>) {
      const operation = "Cookbook.create"
      const request = HttpClientRequest.post(url("recipes")).pipe(HttpClientRequest.bodyUnsafeJson(recipe))
      return yield* idAnswer(operation)(yield* write(operation, request, credentials))
    })

    const update = Effect.fn("Cookbook.update")(function* (
      credentials: Credentials,
      id: string,
      recipe: Readonly<Record<string, unknown>>
    ) {
      const operation = "Cookbook.update"
      // Cookbook takes the recipe to change from the body's id, not the path's.
      const request = HttpClientRequest.put(url(`recipes/${encodeURIComponent(id)}`)).pipe(
        HttpClientRequest.bodyUnsafeJson({ ...recipe, id })
      )
      return yield* idAnswer(operation)(yield* write(operation, request, credentials))
    })

    const remove = Effect.fn("Cookbook.delete")(function* (credentials: Credentials, id: string) {
      yield* send("Cookbook.delete", HttpClientRequest.del(url(`recipes/${encodeURIComponent(id)}`)), credentials)
    })

    const importUrl = Effect.fn("Cookbook.import")(function* (credentials: Credentials, recipeUrl: string) {
      const operation = "Cookbook.import"
      const request = HttpClientRequest.post(url("import")).pipe(HttpClientRequest.bodyUnsafeJson({ url: recipeUrl }))
      const response = yield* write(operation, request, credentials)
      const recipe = yield* decodeJsonBody(RecipeObject, operation)(response)
      const required = yield* decodeJsonBody(RecipeWithId, operation)(response)
      return { ...recipe, id: required.id, name: required.name } as RecipeJson
    })

    return Cookbook.of({ search, get, create, update, delete: remove, importUrl })
  })
)
