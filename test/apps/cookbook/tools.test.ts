/** The Cookbook tools end to end in process, against the simulated Cookbook app. */
import { describe, expect, it } from "vitest"
import { Fault } from "../../../src/simulator/index.js"
import { useHarness } from "../../support/inProcess.js"
import type { ToolResult } from "../../support/stdioServer.js"
import { failed, ok } from "../../support/results.js"

const harness = useHarness({ user: "ada-local" })

const UID = "ada-5c7e"

describe("cookbook tools", () => {
  it("hints, ProvisioningRequired, InsufficientScope", async () => {
    const h = await harness.start()
    const { tools } = await h.client.listTools()
    const byName = new Map(tools.map((t) => [t.name, t]))
    expect(byName.get("nc_cookbook_search")?.annotations).toMatchObject({ readOnlyHint: true })
    expect(byName.get("nc_cookbook_delete_recipe")?.annotations).toMatchObject({ destructiveHint: true })
    failed(await h.call("nc_cookbook_search"), "ProvisioningRequired")
    await h.provision(["cookbook.read"])
    const refused = failed(await h.call("nc_cookbook_create_recipe", { name: "x" }), "InsufficientScope")
    expect(refused["missing_scopes"]).toEqual(["cookbook.write"])
  })

  it("create → search → get → update keeps what it does not model → conflict on a stale etag → delete → NotFound", async () => {
    const h = await harness.start()
    await h.provision(["cookbook.read", "cookbook.write"])
    const seeded = await h.sim.seedRecipe({
      userId: UID,
      recipe: { name: "Goulash", recipeCategory: "Main", keywords: "beef,stew", nutrition: { "@type": "NutritionInformation", calories: "600 kcal" }, author: { name: "Oma" } }
    })

    const created = ok(
      await h.call("nc_cookbook_create_recipe", {
        name: "Bread",
        recipeIngredient: ["500 g flour", "water", "salt"],
        recipeInstructions: ["Mix", "Bake"],
        prepTime: "PT90M",
        cookTime: "P1DT1H",
        recipeYield: 2,
        keywords: ["baking", "basics"],
        url: "https://example.org/bread"
      })
    )
    expect(created["recipe"]).toMatchObject({ name: "Bread", prepTime: "PT1H30M0S", cookTime: "PT25H0M0S", keywords: ["baking", "basics"], url: "https://example.org/bread" })
    const breadId = (created["recipe"] as { id: string }).id
    expect(created["url"]).toBe(`${h.sim.url}/index.php/apps/cookbook/#/recipe/${breadId}`)

    const found = ok(await h.call("nc_cookbook_search", { query: "beef" }))
    expect(found["recipes"]).toEqual([expect.objectContaining({ id: seeded.id, name: "Goulash", keywords: ["beef", "stew"], recipeCategory: "Main" })])
    const all = ok(await h.call("nc_cookbook_search", { limit: 1 }))
    expect((all["recipes"] as Array<{ name: string }>).map((r) => r.name)).toEqual(["Bread"])
    const more = ok(await h.call("nc_cookbook_search", { limit: 1, cursor: all["next_cursor"] }))
    expect((more["recipes"] as Array<{ name: string }>).map((r) => r.name)).toEqual(["Goulash"])
    expect(more["next_cursor"]).toBeNull()

    const got = ok(await h.call("nc_cookbook_get_recipe", { id: seeded.id }))
    const etag = got["etag"] as string
    const updated = ok(await h.call("nc_cookbook_update_recipe", { id: seeded.id, if_match: etag, description: "Hearty", totalTime: "PT3H" }))
    expect(updated["recipe"]).toMatchObject({ description: "Hearty", totalTime: "PT3H0M0S", recipeCategory: "Main", keywords: ["beef", "stew"] })
    const stored = (await h.sim.listRecipes(UID)).find((r) => r["name"] === "Goulash")
    expect(stored).toMatchObject({ nutrition: { calories: "600 kcal" }, author: { name: "Oma" }, description: "Hearty" })
    expect(stored).not.toHaveProperty("printImage")
    const stale = failed(await h.call("nc_cookbook_update_recipe", { id: seeded.id, if_match: etag, description: "lost" }), "Conflict")
    expect(stale.message).toContain("nc_cookbook_get_recipe")
    failed(await h.call("nc_cookbook_update_recipe", { id: seeded.id, name: "bread" }), "Conflict")
    failed(await h.call("nc_cookbook_update_recipe", { id: seeded.id }), "InvalidArguments")
    failed(await h.call("nc_cookbook_update_recipe", { id: seeded.id, prepTime: "P1M" }), "InvalidArguments")
    failed(await h.call("nc_cookbook_create_recipe", { name: "Odd", keywords: ["a,b"] }), "InvalidArguments")

    ok(await h.call("nc_cookbook_delete_recipe", { id: breadId }))
    failed(await h.call("nc_cookbook_delete_recipe", { id: breadId }), "NotFound")
    failed(await h.call("nc_cookbook_get_recipe", { id: breadId }), "NotFound")
    failed(await h.call("nc_cookbook_update_recipe", { id: breadId, description: "x" }), "NotFound")
  })

  it("import from a URL; a page without a recipe is InvalidArguments with Cookbook's reason", async () => {
    const h = await harness.start()
    await h.provision(["cookbook.write"])
    await h.sim.publishRecipePage({ url: "https://food.example/curry", recipe: { name: "Curry", recipeIngredient: ["rice"], totalTime: "PT45M" } })
    const imported = ok(await h.call("nc_cookbook_import_url", { url: "https://food.example/curry" }))
    expect(imported["recipe"]).toMatchObject({ name: "Curry", totalTime: "PT0H45M0S", url: "https://food.example/curry" })
    failed(await h.call("nc_cookbook_import_url", { url: "https://food.example/curry" }), "Conflict")
    const refused = failed(await h.call("nc_cookbook_import_url", { url: "https://food.example/nothing" }), "InvalidArguments")
    expect(refused.message).toContain("Could not find recipe data")
    failed(await h.call("nc_cookbook_import_url", { url: "ftp://food.example/x" }), "InvalidArguments")
  })

  it("a Nextcloud 5xx is NextcloudError naming the action", async () => {
    const h = await harness.start()
    await h.provision(["cookbook.read"])
    await h.sim.injectFault({ target: "cookbook.search", fault: Fault.status(500), times: 3 })
    const r = failed(await h.call("nc_cookbook_search", { query: "soup" }), "NextcloudError")
    expect(r.message).toContain("while trying to search your recipes")
    ok(await h.call("nc_cookbook_search", { query: "soup" }))
  })
})
