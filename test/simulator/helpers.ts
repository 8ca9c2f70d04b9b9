/** Plain-fetch clients for the simulator's wire protocol, as a real client would talk to it. */

export interface InitBody {
  readonly poll: { readonly token: string; readonly endpoint: string }
  readonly login: string
}

export const USER_AGENT = "nextcloud-mcp tests (ci-host)"

export const initFlow = async (base: string, path = "/index.php/login/v2"): Promise<InitBody> => {
  const response = await fetch(`${base}${path}`, { method: "POST", headers: { "User-Agent": USER_AGENT } })
  if (response.status !== 200) throw new Error(`init answered ${response.status}`)
  return (await response.json()) as InitBody
}

export const pollForm = (endpoint: string, token: string): Promise<Response> =>
  fetch(endpoint, { method: "POST", body: new URLSearchParams({ token }) })

export const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`

export interface OcsOptions {
  readonly method?: string
  readonly authorization?: string
  readonly ocsApiRequest?: boolean
  readonly format?: "json" | "xml" | "none"
  readonly userAgent?: string
}

export const ocs = (base: string, path: string, options: OcsOptions = {}): Promise<Response> => {
  const headers: Record<string, string> = {}
  if (options.authorization !== undefined) headers["Authorization"] = options.authorization
  if (options.ocsApiRequest ?? true) headers["OCS-APIRequest"] = "true"
  if (options.userAgent !== undefined) headers["User-Agent"] = options.userAgent
  const format = options.format ?? "json"
  const query = format === "none" ? "" : `?format=${format}`
  return fetch(`${base}/ocs/v2.php${path}${query}`, { method: options.method ?? "GET", headers })
}

export interface OcsBody<D = unknown> {
  readonly ocs: { readonly meta: { readonly status: string; readonly statuscode: number; readonly message: string }; readonly data: D }
}

export const ocsJson = async <D = unknown>(response: Response): Promise<OcsBody<D>> => (await response.json()) as OcsBody<D>
