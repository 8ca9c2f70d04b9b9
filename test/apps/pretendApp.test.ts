/**
 * Adding an app, end to end (docs/architecture.md, "Adding an app"): a
 * pretend Cookbook app is defined here in one place — a client over the
 * shared transport, one tool, a simulator part with one route — and added to
 * the registry list for this test. Its tool is listed, gated by its scope,
 * and called through the real MCP server and adapter over InMemoryTransport
 * against the simulator, with nothing else changed: the tool list, the client
 * layer and the simulator's routes, route keys and faults all follow from the
 * list.
 */
import { HttpClient, HttpClientRequest, HttpRouter, HttpServerRequest } from "@effect/platform"
import { Context, Effect, Layer, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as App from "../../src/apps/App.js"
import { APPS } from "../../src/apps/registry.js"
import { makeCaller } from "../../src/nextcloud/call.js"
import { type DataCallError, expectStatus } from "../../src/nextcloud/errors.js"
import { decodeJsonBody, underBase } from "../../src/nextcloud/http.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../src/nextcloud/Ocs.js"
import { requestAuth } from "../../src/simulator/auth.js"
import { jsonResponse } from "../../src/simulator/http.js"
import { Fault, type SimulatorApp } from "../../src/simulator/index.js"
import { credentialsOf } from "../../src/tools/account.js"
import { whileTrying } from "../../src/tools/nextcloudFailures.js"
import * as Tool from "../../src/tools/Tool.js"
import { useHarness } from "../support/inProcess.js"

// --- src/apps/cookbook/Client.ts -------------------------------------------

const RECIPES_PATH = "index.php/apps/cookbook/api/v1/recipes"

const Recipe = Schema.Struct({ recipe_id: Schema.Number, name: Schema.String })

class Cookbook extends Context.Tag("test/Cookbook")<
  Cookbook,
  { readonly recipes: (credentials: Credentials) => Effect.Effect<ReadonlyArray<typeof Recipe.Type>, DataCallError> }
>() {}

const CookbookLive = Layer.effect(
  Cookbook,
  Effect.gen(function* () {
    const config = yield* NextcloudConfig
    const nc = makeCaller(yield* HttpClient.HttpClient, config)
    return {
      recipes: (credentials) =>
        nc
          .text(
            "Cookbook.recipes",
            HttpClientRequest.get(underBase(config.host, RECIPES_PATH)).pipe(
              HttpClientRequest.basicAuth(credentials.loginName, credentials.appPassword)
            ),
            { idempotent: true }
          )
          .pipe(
            Effect.flatMap(expectStatus("Cookbook.recipes", [200])),
            Effect.flatMap(decodeJsonBody(Schema.Array(Recipe), "Cookbook.recipes"))
          )
    }
  })
)

// --- src/apps/cookbook/tools.ts --------------------------------------------

const listRecipes = Tool.make({
  name: "nc_cookbook_list",
  title: "List Recipes",
  description: "List your recipes.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["cookbook.read"],
  input: Tool.NoArguments,
  output: Tool.response(["ok", "error"], { recipes: Schema.optional(Schema.Array(Schema.String)) }),
  handler: (_input, { grant }) =>
    Effect.gen(function* () {
      const cookbook = yield* Cookbook
      const recipes = yield* cookbook.recipes(credentialsOf(grant)).pipe(whileTrying("list your recipes"))
      return { status: "ok", message: `${recipes.length} recipe(s).`, recipes: recipes.map((r) => r.name) } as const
    })
})

// --- src/apps/cookbook/simulator.ts ----------------------------------------

const cookbookSimulator: SimulatorApp<{}> = {
  routeKeys: ["cookbook.list"],
  routeKey: (method, path) => (path === "/apps/cookbook/api/v1/recipes" && method === "GET" ? "cookbook.list" : undefined),
  hookEndpoints: [],
  mount: (state) => {
    const recipes = Effect.gen(function* () {
      const auth = yield* requestAuth(state, yield* HttpServerRequest.HttpServerRequest)
      if (auth._tag !== "AppPassword" && auth._tag !== "LoginPassword") return jsonResponse({ message: "Unauthorized" }, 401)
      return jsonResponse([{ recipe_id: 1, name: `Pancakes for ${auth.user.userId}` }])
    })
    return {
      routes: HttpRouter.empty.pipe(HttpRouter.get(`/${RECIPES_PATH}`, recipes), HttpRouter.get("/apps/cookbook/api/v1/recipes", recipes)),
      hooks: HttpRouter.empty,
      control: {}
    }
  },
  remote: () => ({})
}

// --- src/apps/cookbook/index.ts --------------------------------------------

const cookbook = App.make({
  id: "cookbook",
  tools: [listRecipes],
  client: CookbookLive,
  simulator: () => Promise.resolve(cookbookSimulator)
})

// --- src/apps/registry.ts, for this test -----------------------------------

// The real Cookbook app is registered: the pretend one takes its place in the list.
const apps = [...APPS.filter((app) => app.id !== "cookbook"), cookbook]

const harness = useHarness({ apps })

describe("a pretend app added to the registry list", () => {
  it("its tool is listed with the others, refused without its scope, and answers from the simulator with it", async () => {
    const h = await harness.start()
    const { tools } = await h.client.listTools()
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["nc_auth_provision_access", "nc_notes_list", "nc_cookbook_list"]))
    expect(tools.find((t) => t.name === "nc_cookbook_list")?.outputSchema?.type).toBe("object")

    await h.provision(["notes.read"])
    await h.sim.resetCounters()
    const refused = await h.call("nc_cookbook_list")
    expect(refused.isError).toBe(true)
    expect(refused.structuredContent).toMatchObject({ success: false, error_code: "InsufficientScope", missing_scopes: ["cookbook.read"] })
    expect((await h.sim.counters()).requests["cookbook.list"]).toBeUndefined()

    expect((await h.call("nc_auth_revoke_access")).structuredContent.status).toBe("revoked")
    await h.provision(["cookbook.read"])
    const listed = await h.call("nc_cookbook_list")
    expect(listed.isError ?? false).toBe(false)
    expect(listed.structuredContent).toEqual({ status: "ok", success: true, message: "1 recipe(s).", recipes: ["Pancakes for ada-5c7e"] })
    expect((await h.sim.counters()).requests["cookbook.list"]).toBe(1)
  })

  it("its route key is a fault target, and a failure gets the adapter's generic answer naming the tool's action", async () => {
    const h = await harness.start()
    await h.provision(["cookbook.read"])
    await h.sim.injectFault({ target: "cookbook.list", fault: Fault.status(503), times: 3 })
    const failed = await h.call("nc_cookbook_list")
    expect(failed.structuredContent).toMatchObject({ success: false, error_code: "NextcloudError" })
    expect(failed.structuredContent.message).toContain("while trying to list your recipes")
  })
})
