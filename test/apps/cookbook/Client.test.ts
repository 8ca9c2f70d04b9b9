/** The Cookbook client against the simulated Cookbook app (only Cookbook mounted). */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Cookbook, CookbookLive } from "../../../src/apps/cookbook/Client.js"
import { cookbookSimulator } from "../../../src/apps/cookbook/simulator.js"
import { withTransport } from "../../../src/nextcloud/layer.js"
import { NextcloudConfig } from "../../../src/nextcloud/NextcloudConfig.js"
import type { Credentials } from "../../../src/nextcloud/Ocs.js"
import * as Simulator from "../../../src/simulator/index.js"

const setup = Effect.gen(function* () {
  const sim = yield* Simulator.make({ apps: [cookbookSimulator] })
  const pw = yield* sim.createAppPassword({ userId: "ada-5c7e" })
  const account: Credentials = { loginName: "ada@example.org", appPassword: Redacted.make(pw.password) }
  const context = yield* Layer.build(withTransport(CookbookLive).pipe(Layer.provide(NextcloudConfig.make(sim.url))))
  const cookbook = yield* Effect.provide(Cookbook, context)
  return { sim, account, cookbook }
})

describe("Cookbook client against the simulator", () => {
  it.scopedLive("create, get (cleaned up like Cookbook), search, update by the body's id, delete", () =>
    Effect.gen(function* () {
      const { sim, account, cookbook } = yield* setup
      const id = yield* cookbook.create(account, {
        name: "Pancakes",
        recipeIngredient: ["flour", "milk"],
        prepTime: "P1DT2H",
        keywords: ["breakfast", " sweet ", "breakfast"],
        recipeYield: "4 servings",
        nutrition: { "@type": "NutritionInformation", calories: "300 kcal" }
      })
      const { recipe } = yield* cookbook.get(account, id)
      // Cookbook's own clean-up: days dropped from durations, keywords joined, yield a number.
      expect(recipe).toMatchObject({ id, name: "Pancakes", prepTime: "PT2H0M0S", keywords: "breakfast,sweet", recipeYield: 4, "@type": "Recipe" })
      yield* sim.seedRecipe({ userId: "ada-5c7e", recipe: { name: "Apple pie", recipeCategory: "Dessert", keywords: "baking" } })
      yield* sim.seedRecipe({ userId: "ada-5c7e", recipe: { name: "Salad 50/50 + more", keywords: "" } })

      expect((yield* cookbook.search(account)).map((s) => s.name)).toEqual(["Apple pie", "Pancakes", "Salad 50/50 + more"])
      expect((yield* cookbook.search(account, "dessert SWEET")).map((s) => s.name)).toEqual(["Apple pie", "Pancakes"])
      // The query survives the extra URL-decoding Cookbook does: slashes, plus signs and percent signs included.
      expect((yield* cookbook.search(account, "50/50")).map((s) => s.name)).toEqual(["Salad 50/50 + more"])
      expect((yield* cookbook.search(account, "+")).map((s) => s.name)).toEqual(["Salad 50/50 + more"])
      expect(yield* cookbook.search(account, "100%")).toEqual([])

      expect(yield* cookbook.update(account, id, { ...recipe, description: "Fluffy" })).toBe(id)
      expect((yield* cookbook.get(account, id)).recipe).toMatchObject({ description: "Fluffy", nutrition: { calories: "300 kcal" } })
      expect((yield* Effect.flip(cookbook.create(account, { name: "pancakes" })))._tag).toBe("NextcloudConflict")
      expect(yield* Effect.flip(cookbook.create(account, { description: "no name" }))).toMatchObject({ _tag: "CookbookRefused", status: 422 })

      yield* cookbook.delete(account, id)
      expect((yield* Effect.flip(cookbook.get(account, id)))._tag).toBe("NextcloudNotFound")
      // Cookbook answers a delete of an unknown id with success.
      yield* cookbook.delete(account, id)
    }))

  it.scopedLive("import from a page: the recipe, 409 for a name taken, 400 with Cookbook's reason otherwise", () =>
    Effect.gen(function* () {
      const { sim, account, cookbook } = yield* setup
      yield* sim.publishRecipePage({ url: "https://recipes.example/soup", recipe: { name: "Soup", recipeIngredient: ["water"], cookTime: "PT30M" } })
      const soup = yield* cookbook.importUrl(account, "https://recipes.example/soup")
      expect(soup).toMatchObject({ name: "Soup", url: "https://recipes.example/soup", cookTime: "PT0H30M0S" })
      expect((yield* Effect.flip(cookbook.importUrl(account, "https://recipes.example/soup")))._tag).toBe("NextcloudConflict")
      expect(yield* Effect.flip(cookbook.importUrl(account, "http://127.0.0.1/x"))).toMatchObject({
        _tag: "CookbookRefused",
        status: 400,
        reason: "The provided URL is not allowed."
      })
      expect(yield* Effect.flip(cookbook.importUrl(account, "https://recipes.example/none"))).toMatchObject({ status: 400 })
    }))
})

describe("Cookbook hooks over HTTP", () => {
  it.scopedLive("seed a recipe, publish a page, list recipes through connectSimulator", () =>
    Effect.gen(function* () {
      const { sim } = yield* setup
      const remote = Simulator.connectSimulator(sim.url, { apps: [cookbookSimulator] })
      const seeded = yield* Effect.promise(() => remote.seedRecipe({ userId: "ada-5c7e", recipe: { name: "Tea", prepTime: "PT5M" } }))
      yield* Effect.promise(() => remote.publishRecipePage({ url: "https://p.example/r", recipe: { name: "R" } }))
      expect(yield* Effect.promise(() => remote.listRecipes("ada-5c7e"))).toEqual([
        expect.objectContaining({ id: Number(seeded.id), name: "Tea", prepTime: "PT0H5M0S" })
      ])
    }))
})
