/**
 * Cookbook tools (Nextcloud Cookbook API v1): search, get, create, update,
 * delete a recipe, import one from a web page. Recipes are schema.org Recipe
 * fields. Reads need `cookbook.read`, writes `cookbook.write`.
 *
 * Cookbook replaces a recipe whole on update, so an update reads the recipe,
 * changes only the given fields and writes it back: fields the tools do not
 * model (nutrition, tools, author, ratings, …) survive. Its API has no ETag;
 * the tools hand out a hash of the stored recipe as `etag`, and `if_match`
 * refuses an update when the recipe changed since it was read.
 */
import { createHash } from "node:crypto"
import { Effect, Schema } from "effect"
import { Conflict, InvalidArguments, NotFound } from "../../domain/Errors.js"
import { underBase } from "../../nextcloud/http.js"
import { NextcloudConfig } from "../../nextcloud/NextcloudConfig.js"
import { credentialsOf } from "../../tools/account.js"
import { whileTrying } from "../../tools/nextcloudFailures.js"
import * as Tool from "../../tools/Tool.js"
import { Cookbook, type CookbookRefused, type RecipeJson, type RecipeStub } from "./Client.js"
import { toCookbookDuration } from "./durations.js"

const DEFAULT_LIMIT = 50

/** Fields the API adds when showing a recipe, which are not part of it. */
const SHOWN_ONLY = ["printImage", "imageUrl", "imagePlaceholderUrl"] as const

const RecipeId = Schema.String.pipe(Schema.pattern(/^\d{1,15}$/)).annotations({ description: "The recipe's id (from nc_cookbook_search)" })

const WebUrl = Schema.String.pipe(Schema.maxLength(2048), Schema.pattern(/^https?:\/\/[^\s/?#]+[^\s]*$/i))

const Duration = Schema.String.pipe(Schema.maxLength(50)).annotations({
  description: "An ISO 8601 duration such as PT1H30M or P1DT2H (weeks, days, hours, minutes, seconds)"
})

const Keyword = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(100),
  Schema.filter((k) => !k.includes(",") || "a keyword cannot contain a comma (Cookbook separates keywords with commas)")
)

/** The schema.org Recipe fields the tools write. */
const RecipeFields = {
  description: Schema.optional(Schema.String.pipe(Schema.maxLength(20_000))),
  recipeIngredient: Schema.optional(
    Schema.Array(Schema.String.pipe(Schema.maxLength(1000))).pipe(Schema.maxItems(300)).annotations({ description: "One ingredient per entry" })
  ),
  recipeInstructions: Schema.optional(
    Schema.Array(Schema.String.pipe(Schema.maxLength(10_000))).pipe(Schema.maxItems(300)).annotations({ description: "One step per entry" })
  ),
  recipeYield: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 10_000)).annotations({ description: "Servings" })),
  prepTime: Schema.optional(Schema.NullOr(Duration)),
  cookTime: Schema.optional(Schema.NullOr(Duration)),
  totalTime: Schema.optional(Schema.NullOr(Duration)),
  keywords: Schema.optional(Schema.Array(Keyword).pipe(Schema.maxItems(100))),
  recipeCategory: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  url: Schema.optional(WebUrl.annotations({ description: "The page the recipe comes from (schema.org url)" })),
  image: Schema.optional(WebUrl.annotations({ description: "An image's http(s) address" }))
} as const

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200), Schema.filter((n) => n.trim() !== "" || "a name cannot be blank"))

type FieldsInput = {
  readonly name?: string | undefined
  readonly description?: string | undefined
  readonly recipeIngredient?: ReadonlyArray<string> | undefined
  readonly recipeInstructions?: ReadonlyArray<string> | undefined
  readonly recipeYield?: number | undefined
  readonly prepTime?: string | null | undefined
  readonly cookTime?: string | null | undefined
  readonly totalTime?: string | null | undefined
  readonly keywords?: ReadonlyArray<string> | undefined
  readonly recipeCategory?: string | undefined
  readonly url?: string | undefined
  readonly image?: string | undefined
}

const DURATION_FIELDS = ["prepTime", "cookTime", "totalTime"] as const

/** The given fields as Cookbook stores them; durations in its own form, keywords comma-separated. */
const toStored = (input: FieldsInput): Effect.Effect<Record<string, unknown>, InvalidArguments> =>
  Effect.gen(function* () {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(input)) {
      if (value === undefined) continue
      if ((DURATION_FIELDS as ReadonlyArray<string>).includes(key)) {
        if (value === null) {
          out[key] = null
          continue
        }
        const converted = toCookbookDuration(String(value))
        if ("problem" in converted) {
          return yield* new InvalidArguments({
            message:
              converted.problem === "calendar"
                ? `${key}: years and months have no fixed length; give weeks, days, hours or minutes (e.g. P1DT2H).`
                : converted.problem === "too long"
                  ? `${key}: ${String(value)} is longer than a year.`
                  : `${key}: ${String(value)} is not an ISO 8601 duration (e.g. PT45M, PT1H30M, P1DT2H).`
          })
        }
        out[key] = converted.value
      } else if (key === "keywords") {
        out[key] = (value as ReadonlyArray<string>).map((k) => k.trim()).filter((k) => k !== "").join(",")
      } else out[key] = value
    }
    return out
  })

const etagOf = (recipe: Readonly<Record<string, unknown>>): string => {
  const stored = Object.fromEntries(
    Object.entries(recipe)
      .filter(([k]) => !(SHOWN_ONLY as ReadonlyArray<string>).includes(k))
      .sort(([a], [b]) => (a < b ? -1 : 1))
  )
  return createHash("sha256").update(JSON.stringify(stored)).digest("hex").slice(0, 32)
}

const recipeWebUrl = (publicUrl: URL, id: string): string => {
  const url = underBase(publicUrl, "index.php/apps/cookbook/")
  url.hash = `/recipe/${id}`
  return url.href
}

const text = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null)
const stringList = (value: unknown): Array<string> => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [])
const keywordList = (value: unknown): Array<string> =>
  (typeof value === "string" ? value.split(",") : stringList(value)).map((k) => k.trim()).filter((k) => k !== "")

const RecipeOutput = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  description: Schema.String,
  recipeIngredient: Schema.Array(Schema.String),
  recipeInstructions: Schema.Array(Schema.String),
  recipeYield: Schema.NullOr(Schema.Number),
  prepTime: Schema.NullOr(Schema.String),
  cookTime: Schema.NullOr(Schema.String),
  totalTime: Schema.NullOr(Schema.String),
  keywords: Schema.Array(Schema.String),
  recipeCategory: Schema.String,
  url: Schema.NullOr(Schema.String.annotations({ description: "The page the recipe comes from" })),
  image: Schema.NullOr(Schema.String),
  dateCreated: Schema.NullOr(Schema.String),
  dateModified: Schema.NullOr(Schema.String)
})

const recipeOutput = (recipe: RecipeJson): typeof RecipeOutput.Type => ({
  id: recipe.id,
  name: recipe.name,
  description: text(recipe["description"]) ?? "",
  recipeIngredient: stringList(recipe["recipeIngredient"]),
  recipeInstructions: stringList(recipe["recipeInstructions"]),
  recipeYield: typeof recipe["recipeYield"] === "number" ? recipe["recipeYield"] : null,
  prepTime: text(recipe["prepTime"]),
  cookTime: text(recipe["cookTime"]),
  totalTime: text(recipe["totalTime"]),
  keywords: keywordList(recipe["keywords"]),
  recipeCategory: text(recipe["recipeCategory"]) ?? "",
  url: text(recipe["url"]),
  image: text(recipe["image"]),
  dateCreated: text(recipe["dateCreated"]),
  dateModified: text(recipe["dateModified"])
})

const RecipeResult = {
  recipe: Schema.optional(RecipeOutput),
  etag: Schema.optional(Schema.String.annotations({ description: "Pass as if_match to nc_cookbook_update_recipe" })),
  url: Schema.optional(Schema.String.annotations({ description: "The recipe in Cookbook's web UI" }))
}

const recipeNotFound = (id: string) =>
  new NotFound({ message: `There is no recipe with id ${id} (it may have been deleted). nc_cookbook_search lists yours.` })

const refusedWrite = (name: string | undefined) => ({
  NextcloudConflict: () =>
    Effect.fail(new Conflict({ message: `Another recipe is already named "${name ?? "?"}"; Cookbook needs unique names.` })),
  CookbookRefused: (refused: CookbookRefused) =>
    Effect.fail(new InvalidArguments({ message: `Cookbook refused the recipe${refused.reason === "" ? "." : `: "${refused.reason}".`}` }))
})

// ---------------------------------------------------------------------------

export const SearchInput = Schema.Struct({
  query: Schema.optional(
    Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)).annotations({
      description: "Words to find in names, keywords and categories (any word matches); omit to list every recipe"
    })
  ),
  limit: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 500)).annotations({ description: "Per page, 1–500 (default 50)" })),
  cursor: Schema.optional(Schema.String.pipe(Schema.pattern(/^\d{1,9}$/)).annotations({ description: "next_cursor of the previous page" }))
})

const StubOutput = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  keywords: Schema.Array(Schema.String),
  recipeCategory: Schema.String,
  dateCreated: Schema.NullOr(Schema.String),
  dateModified: Schema.NullOr(Schema.String),
  url: Schema.String.annotations({ description: "The recipe in Cookbook's web UI" })
})

const stubOutput = (publicUrl: URL, stub: RecipeStub): typeof StubOutput.Type => {
  const id = stub.id ?? String(stub.recipe_id ?? "")
  return {
    id,
    name: stub.name,
    keywords: keywordList(stub.keywords),
    recipeCategory: stub.category ?? "",
    dateCreated: stub.dateCreated ?? null,
    dateModified: stub.dateModified ?? null,
    url: recipeWebUrl(publicUrl, id)
  }
}

export const searchRecipes = Tool.make({
  name: "nc_cookbook_search",
  title: "Search Recipes",
  description:
    "Find recipes in your Cookbook whose name, keywords or category contain any word of query (or list all without one), by name.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["cookbook.read"],
  input: SearchInput,
  output: Tool.response(["ok", "error"], {
    recipes: Schema.optional(Schema.Array(StubOutput)),
    count: Schema.optional(Schema.Number),
    total: Schema.optional(Schema.Number),
    next_cursor: Schema.optional(Schema.NullOr(Schema.String))
  }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const cookbook = yield* Cookbook
      const { publicUrl } = yield* NextcloudConfig
      const query = input.query?.trim()
      const stubs = yield* cookbook
        .search(credentialsOf(grant), query === "" ? undefined : query)
        .pipe(whileTrying(query === undefined ? "list your recipes" : "search your recipes"))
      const offset = input.cursor === undefined ? 0 : Number(input.cursor)
      const limit = input.limit ?? DEFAULT_LIMIT
      const page = stubs.slice(offset, offset + limit)
      const next = offset + limit < stubs.length ? String(offset + limit) : null
      return {
        status: "ok",
        message:
          `${stubs.length} recipe(s)${query === undefined ? "" : ` match "${query}"`}` +
          (page.length < stubs.length ? `; showing ${page.length}.` : ".") +
          (next === null ? "" : " More follow: pass next_cursor as cursor."),
        recipes: page.map((s) => stubOutput(publicUrl, s)),
        count: page.length,
        total: stubs.length,
        next_cursor: next
      } as const
    })
})

// ---------------------------------------------------------------------------

export const getRecipe = Tool.make({
  name: "nc_cookbook_get_recipe",
  title: "Get Recipe",
  description: "Read one recipe: ingredients, instructions, yield, times (ISO 8601), keywords, category, source url, and its etag.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  scopes: ["cookbook.read"],
  input: Schema.Struct({ id: RecipeId }),
  output: Tool.response(["ok", "error"], RecipeResult),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const cookbook = yield* Cookbook
      const { publicUrl } = yield* NextcloudConfig
      const { recipe } = yield* cookbook.get(credentialsOf(grant), input.id).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(recipeNotFound(input.id))),
        whileTrying(`read recipe ${input.id}`)
      )
      return {
        status: "ok",
        message: `Recipe ${recipe.id}: "${recipe.name}".`,
        recipe: recipeOutput(recipe),
        etag: etagOf(recipe),
        url: recipeWebUrl(publicUrl, recipe.id)
      } as const
    })
})

// ---------------------------------------------------------------------------

export const CreateRecipeInput = Schema.Struct({ name: Name, ...RecipeFields })

export const createRecipe = Tool.make({
  name: "nc_cookbook_create_recipe",
  title: "Create Recipe",
  description:
    "Add a recipe to your Cookbook: name (unique), and any of description, recipeIngredient, recipeInstructions, recipeYield, " +
    "prepTime/cookTime/totalTime (ISO 8601 durations), keywords, recipeCategory, url (its source), image.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  scopes: ["cookbook.write"],
  input: CreateRecipeInput,
  output: Tool.response(["created", "error"], RecipeResult),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const cookbook = yield* Cookbook
      const { publicUrl } = yield* NextcloudConfig
      const credentials = credentialsOf(grant)
      const fields = yield* toStored(input)
      const id = yield* cookbook
        .create(credentials, { "@context": "http://schema.org", "@type": "Recipe", ...fields, name: input.name.trim() })
        .pipe(Effect.catchTags(refusedWrite(input.name)), whileTrying(`create the recipe "${input.name}"`))
      const { recipe } = yield* cookbook.get(credentials, id).pipe(whileTrying(`read the new recipe ${id}`))
      return {
        status: "created",
        message: `Created recipe ${id}: "${recipe.name}".`,
        recipe: recipeOutput(recipe),
        etag: etagOf(recipe),
        url: recipeWebUrl(publicUrl, id)
      } as const
    })
})

// ---------------------------------------------------------------------------

export const UpdateRecipeInput = Schema.Struct({
  id: RecipeId,
  if_match: Schema.optional(
    Schema.String.pipe(Schema.maxLength(100)).annotations({ description: "The etag you read; refused with Conflict if the recipe changed since" })
  ),
  name: Schema.optional(Name),
  ...RecipeFields
})

export const updateRecipe = Tool.make({
  name: "nc_cookbook_update_recipe",
  title: "Update Recipe",
  description:
    "Change some fields of a recipe; every other field (also ones these tools do not show, like nutrition) stays as it is. " +
    "Lists (recipeIngredient, recipeInstructions, keywords) are replaced whole; null clears a time.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["cookbook.write"],
  input: UpdateRecipeInput,
  output: Tool.response(["updated", "error"], RecipeResult),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const { id, if_match, ...changes } = input
      if (Object.values(changes).every((v) => v === undefined)) {
        return yield* new InvalidArguments({ message: "Nothing to change: give at least one recipe field." })
      }
      const fields = yield* toStored(changes)
      const cookbook = yield* Cookbook
      const { publicUrl } = yield* NextcloudConfig
      const credentials = credentialsOf(grant)
      const { recipe: current } = yield* cookbook.get(credentials, id).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(recipeNotFound(id))),
        whileTrying(`read recipe ${id}`)
      )
      if (if_match !== undefined && if_match !== etagOf(current)) {
        return yield* new Conflict({
          message: `Recipe ${id} was changed since you read it (etag ${if_match} is out of date), so nothing was written. Read it again with nc_cookbook_get_recipe.`
        })
      }
      const kept = Object.fromEntries(Object.entries(current).filter(([k]) => !(SHOWN_ONLY as ReadonlyArray<string>).includes(k)))
      yield* cookbook
        .update(credentials, id, { ...kept, ...fields, ...(changes.name !== undefined ? { name: changes.name.trim() } : {}) })
        .pipe(Effect.catchTags(refusedWrite(changes.name)), whileTrying(`update recipe ${id}`))
      const { recipe } = yield* cookbook.get(credentials, id).pipe(whileTrying(`read recipe ${id}`))
      return {
        status: "updated",
        message: `Updated recipe ${id}: "${recipe.name}".`,
        recipe: recipeOutput(recipe),
        etag: etagOf(recipe),
        url: recipeWebUrl(publicUrl, id)
      } as const
    })
})

// ---------------------------------------------------------------------------

export const deleteRecipe = Tool.make({
  name: "nc_cookbook_delete_recipe",
  title: "Delete Recipe",
  description: "Delete a recipe (its folder goes to the trash bin).",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  scopes: ["cookbook.write"],
  input: Schema.Struct({ id: RecipeId }),
  output: Tool.response(["deleted", "error"], { id: Schema.optional(Schema.String) }),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const cookbook = yield* Cookbook
      const credentials = credentialsOf(grant)
      // Cookbook answers a delete of an unknown id as if it had worked: look first.
      const { recipe } = yield* cookbook.get(credentials, input.id).pipe(
        Effect.catchTag("NextcloudNotFound", () => Effect.fail(recipeNotFound(input.id))),
        whileTrying(`read recipe ${input.id}`)
      )
      yield* cookbook.delete(credentials, input.id).pipe(whileTrying(`delete recipe ${input.id}`))
      return { status: "deleted", message: `Deleted recipe ${input.id} ("${recipe.name}").`, id: input.id } as const
    })
})

// ---------------------------------------------------------------------------

export const importUrl = Tool.make({
  name: "nc_cookbook_import_url",
  title: "Import Recipe",
  description: "Import a recipe from a web page (Cookbook reads its schema.org data) into your Cookbook.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  scopes: ["cookbook.write"],
  input: Schema.Struct({ url: WebUrl.annotations({ description: "The recipe page's http(s) address" }) }),
  output: Tool.response(["created", "error"], RecipeResult),
  handler: (input, { grant }) =>
    Effect.gen(function* () {
      const cookbook = yield* Cookbook
      const { publicUrl } = yield* NextcloudConfig
      const recipe = yield* cookbook.importUrl(credentialsOf(grant), input.url).pipe(
        Effect.catchTags({
          NextcloudConflict: () => Effect.fail(new Conflict({ message: `You already have a recipe of that name (from ${input.url}).` })),
          CookbookRefused: (refused) =>
            Effect.fail(
              new InvalidArguments({ message: `Cookbook could not import ${input.url}${refused.reason === "" ? "." : `: "${refused.reason}".`}` })
            )
        }),
        whileTrying(`import the recipe at ${input.url}`)
      )
      return {
        status: "created",
        message: `Imported recipe ${recipe.id}: "${recipe.name}".`,
        recipe: recipeOutput(recipe),
        etag: etagOf(recipe),
        url: recipeWebUrl(publicUrl, recipe.id)
      } as const
    })
})

export const cookbookTools = [searchRecipes, getRecipe, createRecipe, updateRecipe, deleteRecipe, importUrl] as const
