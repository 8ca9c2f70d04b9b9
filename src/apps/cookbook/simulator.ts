/**
 * The Cookbook app in the simulated Nextcloud (docs/nextcloud-protocol.md
 * "Cookbook"): API v1 (`/index.php/apps/cookbook/api/v1/`) as Cookbook
 * answers it — Basic auth; recipes stored as schema.org JSON and cleaned up
 * on every save the way Cookbook's filters do (durations to `PT#H#M#S`, days
 * dropped; keywords to a comma-separated string; yield to an integer; missing
 * fields filled in); names unique (409); create and update answering the id,
 * update taking the recipe from the body's `id`; delete answering 200 even
 * for an unknown id; search by words in names, keywords and categories, the
 * query URL-decoded once more after routing; import of pages published
 * through a hook.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { requestAuth } from "../../simulator/auth.js"
import { Empty, hook } from "../../simulator/hooks.js"
import { jsonResponse } from "../../simulator/http.js"
import type { SimulatorApp } from "../../simulator/SimulatorApp.js"
import { knownUser, now, SimulatorHookError, type SimState } from "../../simulator/state.js"

type Json = Record<string, unknown>

interface CookbookStore {
  /** uid → recipe id → the stored recipe.json (with `id`). */
  readonly users: Map<string, Map<number, Json>>
  /** URL → the recipe a page there holds. */
  readonly web: Map<string, Json>
}

const recipesOf = (store: CookbookStore, userId: string): Map<number, Json> => {
  let recipes = store.users.get(userId)
  if (recipes === undefined) {
    recipes = new Map()
    store.users.set(userId, recipes)
  }
  return recipes
}

/** `ISO8601DurationHelper::parseDuration`: hours, minutes, seconds kept (anything longer dropped); `H:MM` too. */
const phpDuration = (value: unknown): string | null => {
  if (typeof value !== "string") return null
  const iso = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/.exec(value.trim())
  if (iso !== null) {
    let h = Number.parseInt(iso[6] ?? "0", 10) || 0
    let m = Number.parseInt(iso[7] ?? "0", 10) || 0
    let s = Number.parseInt(iso[8] ?? "0", 10) || 0
    m += Math.floor(s / 60)
    s %= 60
    h += Math.floor(m / 60)
    m %= 60
    return `PT${h}H${m}M${s}S`
  }
  const hm = /^(\d+):(\d{1,2})$/.exec(value.trim())
  return hm === null ? null : `PT${Number(hm[1])}H${Number(hm[2])}M`
}

const phpYield = (value: unknown): number | null => {
  let v = Array.isArray(value) && value.length === 1 ? value[0] : value
  if (v === undefined || v === null) return null
  if (typeof v === "number") return Math.trunc(v)
  if (Array.isArray(v)) v = v.join(" ")
  const digits = String(v).match(/\d+/g)
  return digits === null ? 1 : Math.max(...digits.map(Number))
}

const phpKeywords = (value: unknown): string => {
  const list = typeof value === "string" ? value.split(",") : Array.isArray(value) ? value.map(String) : []
  const cleaned = list.map((k) => k.replace(/<[^>]*>/g, "").trim().replace(/\s+/g, " ")).filter((k) => k !== "")
  return [...new Set(cleaned)].join(",")
}

const strings = (value: unknown): Array<string> =>
  (Array.isArray(value) ? value : typeof value === "string" && value !== "" ? [value] : [])
    .map((v) => (typeof v === "string" ? v.trim() : typeof v === "object" && v !== null && typeof (v as Json)["text"] === "string" ? String((v as Json)["text"]).trim() : ""))
    .filter((v) => v !== "")

/** `RecipeService::checkRecipe`, the parts that change what is stored. */
const cleanUp = (json: Json): Json => ({
  ...json,
  "@context": "http://schema.org",
  "@type": "Recipe",
  name: String(json["name"]).trim(),
  description: typeof json["description"] === "string" ? json["description"] : "",
  url: typeof json["url"] === "string" ? json["url"] : "",
  image: typeof json["image"] === "string" ? json["image"] : "",
  recipeCategory: typeof json["recipeCategory"] === "string" ? json["recipeCategory"].trim() : "",
  recipeYield: phpYield(json["recipeYield"]),
  prepTime: phpDuration(json["prepTime"]),
  cookTime: phpDuration(json["cookTime"]),
  totalTime: phpDuration(json["totalTime"]),
  keywords: phpKeywords(json["keywords"]),
  recipeIngredient: strings(json["recipeIngredient"]),
  recipeInstructions: strings(json["recipeInstructions"]),
  tool: strings(json["tool"]),
  nutrition: typeof json["nutrition"] === "object" && json["nutrition"] !== null ? json["nutrition"] : { "@type": "NutritionInformation" }
})

/** Cookbook's dates: `DATE_ISO8601` (`2022-01-02T16:12:41+0000`). */
const phpDate = (at: number): string => `${new Date(at).toISOString().slice(0, 19)}+0000`

/** The folder name decides uniqueness: names that differ only in case or slashes clash. */
const folderName = (name: string): string => name.trim().replace(/[/\\]/g, "_").toLowerCase()

type Saved = { readonly id: number } | { readonly status: number; readonly body: unknown }

/** `RecipeService::addRecipe`: create (no id) or update (the body's id) the recipe. */
const save = (state: SimState, recipes: Map<number, Json>, json: Json, at: number): Saved => {
  if (typeof json["name"] !== "string" || json["name"].trim() === "") {
    return { status: 422, body: { msg: "No recipe name was given. A unique name is required to store the recipe." } }
  }
  const rawId = json["id"]
  const existingId = typeof rawId === "number" ? rawId : typeof rawId === "string" && /^\d+$/.test(rawId) ? Number(rawId) : null
  const clash = (self: number | null) =>
    [...recipes.entries()].some(([id, r]) => id !== self && folderName(String(r["name"])) === folderName(String(json["name"])))
  if (existingId !== null && existingId !== 0) {
    const old = recipes.get(existingId)
    if (old === undefined) return { status: 500, body: { msg: "Unexpected node received for recipe folder." } }
    if (clash(existingId)) return { status: 409, body: { msg: "Another recipe with that name already exists" } }
    recipes.set(existingId, { ...cleanUp(json), id: existingId, dateCreated: old["dateCreated"] ?? phpDate(at), dateModified: phpDate(at) })
    return { id: existingId }
  }
  if (clash(null)) return { status: 409, body: { msg: "Another recipe with that name already exists" } }
  const id = state.nextId++
  recipes.set(id, { ...cleanUp(json), id, dateCreated: phpDate(at), dateModified: phpDate(at) })
  return { id }
}

const stub = (recipe: Json): Json => ({
  recipe_id: recipe["id"],
  id: String(recipe["id"]),
  name: recipe["name"],
  keywords: recipe["keywords"] ?? "",
  category: recipe["recipeCategory"] ?? "",
  dateCreated: recipe["dateCreated"],
  dateModified: recipe["dateModified"],
  imageUrl: `/index.php/apps/cookbook/webapp/recipes/${String(recipe["id"])}/image?size=thumb`,
  imagePlaceholderUrl: `/index.php/apps/cookbook/webapp/recipes/${String(recipe["id"])}/image?size=thumb16`
})

const byName = (a: Json, b: Json) => String(a["name"]).localeCompare(String(b["name"]))

/** PHP's `urldecode`: `+` is a space, `%XX` a byte; broken escapes stay as they are. */
const phpUrlDecode = (text: string): string =>
  text.replace(/\+/g, " ").replace(/(%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run)
    } catch {
      return run
    }
  })

/** `RecipeDb::findRecipes`: any word (split on spaces and commas) in a keyword, the name or the category. */
const search = (recipes: Iterable<Json>, query: string): Array<Json> => {
  const words = query.toLowerCase().match(/[^ ,]+/g) ?? []
  const all = [...recipes]
  if (words.length === 0) return all.sort(byName)
  return all
    .filter((r) => {
      const keywords = String(r["keywords"] ?? "").toLowerCase().split(",")
      const name = String(r["name"]).toLowerCase()
      const category = String(r["recipeCategory"] ?? "").toLowerCase()
      return words.some((w) => name.includes(w) || category.includes(w) || keywords.some((k) => k.includes(w)))
    })
    .sort(byName)
}

type Handler = (
  userId: string,
  request: HttpServerRequest.HttpServerRequest,
  params: Readonly<Record<string, string | undefined>>,
  at: number
) => Effect.Effect<HttpServerResponse.HttpServerResponse>

const cookbookRoute = (state: SimState, handler: Handler) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const auth = yield* requestAuth(state, request)
    if (auth._tag === "Throttled") return jsonResponse({ message: "Reached maximum delay" }, 429)
    if (auth._tag === "Failed" || auth._tag === "Anonymous") {
      return HttpServerResponse.setHeader(jsonResponse({ message: "Current user is not logged in" }, 401), "WWW-Authenticate", 'Basic realm="Authorisation Required"')
    }
    return yield* handler(auth.user.userId, request, yield* HttpRouter.params, yield* now(state))
  })

const readJson = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    const parsed = yield* Effect.try(() => JSON.parse(text === "" ? "{}" : text) as unknown).pipe(Effect.orElseSucceed(() => null))
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : {}
  })

const idParam = (params: Readonly<Record<string, string | undefined>>): number | null => {
  const raw = params["id"] ?? ""
  return /^\d{1,15}$/.test(raw) ? Number(raw) : null
}

const saved = (result: Saved) => ("id" in result ? jsonResponse(result.id) : jsonResponse(result.body, result.status))

/** What `RecipeImplementation::isDownloadUrlValid` accepts: http(s), a host name that is neither localhost nor an IP. */
const allowedDownload = (url: string): boolean => {
  try {
    const parsed = new URL(url)
    const host = parsed.hostname
    return (parsed.protocol === "http:" || parsed.protocol === "https:") && host !== "localhost" && !/^[\d.]+$|^\[.*\]$/.test(host)
  } catch {
    return false
  }
}

const API = "/apps/cookbook/api/v1"

const cookbookRoutes = (state: SimState, store: CookbookStore): HttpRouter.HttpRouter => {
  const r = (handler: Handler) => cookbookRoute(state, handler)
  let router = HttpRouter.empty
  for (const prefix of ["/index.php", ""]) {
    const base = `${prefix}${API}`
    router = router.pipe(
      HttpRouter.get(`${prefix}/apps/cookbook/api/version` as `/${string}`, r(() => Effect.succeed(jsonResponse({ cookbook_version: [0, 11, 3], api_version: { epoch: 0, major: 1, minor: 3 } })))),
      HttpRouter.get(`${base}/recipes` as `/${string}`, r((userId) => Effect.sync(() => jsonResponse(search(recipesOf(store, userId).values(), "").map(stub))))),
      HttpRouter.get(
        `${base}/search/:query` as `/${string}`,
        r((userId, _request, params) => Effect.sync(() => jsonResponse(search(recipesOf(store, userId).values(), phpUrlDecode(params["query"] ?? "")).map(stub))))
      ),
      HttpRouter.post(
        `${base}/recipes` as `/${string}`,
        r((userId, request, _params, at) =>
          Effect.map(readJson(request), (json) => {
            const { id: _ignored, ...fresh } = json
            return saved(save(state, recipesOf(store, userId), fresh, at))
          })
        )
      ),
      HttpRouter.get(
        `${base}/recipes/:id` as `/${string}`,
        r((userId, _request, params) =>
          Effect.sync(() => {
            const id = idParam(params)
            const recipe = id === null ? undefined : recipesOf(store, userId).get(id)
            if (recipe === undefined) return jsonResponse(params["id"] ?? "", 404)
            return jsonResponse({ ...recipe, id: String(recipe["id"]), printImage: true, imageUrl: `/index.php/apps/cookbook/webapp/recipes/${String(recipe["id"])}/image?size=full` })
          })
        )
      ),
      // The body's id decides which recipe changes (a body without one creates a recipe).
      HttpRouter.put(
        `${base}/recipes/:id` as `/${string}`,
        r((userId, request, _params, at) => Effect.map(readJson(request), (json) => saved(save(state, recipesOf(store, userId), json, at))))
      ),
      HttpRouter.del(
        `${base}/recipes/:id` as `/${string}`,
        r((userId, _request, params) =>
          Effect.sync(() => {
            const id = idParam(params)
            if (id !== null) recipesOf(store, userId).delete(id)
            return jsonResponse(`Recipe ${params["id"] ?? ""} deleted successfully`)
          })
        )
      ),
      HttpRouter.post(
        `${base}/import` as `/${string}`,
        r((userId, request, _params, at) =>
          Effect.map(readJson(request), (json) => {
            const url = json["url"]
            if (typeof url !== "string") return jsonResponse('Field "url" is required', 400)
            if (!allowedDownload(url)) return jsonResponse("The provided URL is not allowed.", 400)
            const page = store.web.get(url)
            if (page === undefined) return jsonResponse(`Could not find recipe data at ${url}`, 400)
            const recipes = recipesOf(store, userId)
            const result = save(state, recipes, { ...page, url }, at)
            if (!("id" in result)) return jsonResponse(result.body, result.status)
            return jsonResponse({ ...recipes.get(result.id), id: result.id })
          })
        )
      )
    )
  }
  return router
}

const ROUTE_KEYS = [
  "cookbook.list",
  "cookbook.search",
  "cookbook.get",
  "cookbook.create",
  "cookbook.update",
  "cookbook.delete",
  "cookbook.import",
  "cookbook.other"
] as const

const routeKey = (method: string, path: string) => {
  if (path === "/apps/cookbook/api/version") return "cookbook.other"
  if (!path.startsWith(`${API}/`)) return undefined
  const rest = path.slice(API.length + 1)
  if (rest === "recipes") return method === "GET" ? "cookbook.list" : method === "POST" ? "cookbook.create" : "cookbook.other"
  if (rest.startsWith("recipes/") && !rest.slice(8).includes("/")) {
    return method === "GET" ? "cookbook.get" : method === "PUT" ? "cookbook.update" : method === "DELETE" ? "cookbook.delete" : "cookbook.other"
  }
  if (rest.startsWith("search/") && method === "GET") return "cookbook.search"
  if (rest === "import" && method === "POST") return "cookbook.import"
  return "cookbook.other"
}

// ---------------------------------------------------------------------------
// Hooks

export interface CookbookControl {
  /** Store a recipe for a user as if saved in Cookbook (cleaned up the same way); its id. */
  readonly seedRecipe: (input: { readonly userId: string; readonly recipe: Json }) => Effect.Effect<{ readonly id: string }, SimulatorHookError>
  /** A web page holding `recipe`, for imports. */
  readonly publishRecipePage: (input: { readonly url: string; readonly recipe: Json }) => Effect.Effect<void, SimulatorHookError>
  /** A user's stored recipes, by name. */
  readonly listRecipes: (userId: string) => Effect.Effect<ReadonlyArray<Json>, SimulatorHookError>
}

const makeControl = (state: SimState, store: CookbookStore): CookbookControl => ({
  seedRecipe: Effect.fn("Simulator.seedRecipe")(function* (input) {
    yield* knownUser(state, input.userId)
    const { id: _ignored, ...fresh } = input.recipe
    const result = save(state, recipesOf(store, input.userId), fresh, yield* now(state))
    if (!("id" in result)) return yield* new SimulatorHookError({ reason: "InvalidRequest", message: JSON.stringify(result.body) })
    return { id: String(result.id) }
  }),
  publishRecipePage: (input) => Effect.sync(() => void store.web.set(input.url, input.recipe)),
  listRecipes: Effect.fn("Simulator.listRecipes")(function* (userId: string) {
    yield* knownUser(state, userId)
    return [...recipesOf(store, userId).values()].sort(byName).map((r) => ({ ...r }))
  })
})

const RecipeBody = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const hookRoutes = (control: CookbookControl): HttpRouter.HttpRouter =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/__sim/cookbook/recipes", hook(Schema.Struct({ userId: Schema.String, recipe: RecipeBody }), (input) => control.seedRecipe(input), 201)),
    HttpRouter.post("/__sim/cookbook/pages", hook(Schema.Struct({ url: Schema.String, recipe: RecipeBody }), (input) => control.publishRecipePage(input), 201)),
    HttpRouter.get("/__sim/users/:userId/recipes", hook(Empty, (_, params) => control.listRecipes(params["userId"] ?? "")))
  )

export const cookbookSimulator: SimulatorApp<CookbookControl> = {
  nextcloudApp: { id: "cookbook", name: "Cookbook" },
  routeKeys: ROUTE_KEYS,
  routeKey,
  hookEndpoints: [
    "POST   /__sim/cookbook/recipes                 {userId, recipe} a stored recipe (schema.org JSON)",
    "POST   /__sim/cookbook/pages                   {url, recipe} a web page a recipe can be imported from",
    "GET    /__sim/users/{userId}/recipes           a user's recipes as stored"
  ],
  mount: (state) => {
    const store: CookbookStore = { users: new Map(), web: new Map() }
    const control = makeControl(state, store)
    return { routes: cookbookRoutes(state, store), hooks: hookRoutes(control), control }
  },
  remote: (call) => ({
    seedRecipe: (input) => call("POST", "/cookbook/recipes", input),
    publishRecipePage: (input) => call("POST", "/cookbook/pages", input).then(() => undefined),
    listRecipes: (userId) => call("GET", `/users/${encodeURIComponent(userId)}/recipes`)
  })
}
