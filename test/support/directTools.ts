/**
 * Runs one tool's handler directly against a DAV server (the simulated
 * Nextcloud or a real server behind Nextcloud's paths), with the app's client
 * on the shared transport and a grant for the server's account: the contract
 * suites' way to run the same tool calls against both.
 */
import type { HttpClient } from "@effect/platform"
import { Effect, Exit, Layer, Redacted, Schema } from "effect"
import { afterAll, beforeAll } from "vitest"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { UserId } from "../../src/domain/Ids.js"
import { withTransport } from "../../src/nextcloud/layer.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import { Ocs } from "../../src/nextcloud/Ocs.js"
import type { Grant } from "../../src/storage/Storage.js"
import { Storage } from "../../src/storage/Storage.js"
import type { AnyTool } from "../../src/tools/Tool.js"

export interface DavServer {
  readonly host: string
  /** The Nextcloud user id (the DAV paths' `<uid>`). */
  readonly userId: string
  readonly loginName: string
  readonly password: string
}

/** A DAV server a contract suite runs against (the simulated Nextcloud, or a real server behind its paths). */
export interface ContractServer extends DavServer {
  /** sabre/dav (Nextcloud) stores an object as sent; Radicale writes it back in its own serialisation. */
  readonly sabre: boolean
  readonly close: () => Promise<void>
}

/**
 * The suite's server: started before its cases and closed after them. The
 * value stands for it from the start, so the suite's cases and helpers read
 * its fields as they run.
 */
export const suiteServer = (start: () => Promise<ContractServer>): ContractServer => {
  let started: ContractServer | undefined
  beforeAll(async () => {
    started = await start()
  }, 60_000)
  afterAll(async () => {
    await started?.close()
  })
  return new Proxy({} as ContractServer, {
    get: (_target, key) => {
      if (started === undefined) throw new Error("the suite's server is read before it started")
      return Reflect.get(started, key)
    }
  })
}

export type Outcome =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly tag: string; readonly detail: string; readonly message: string }

/** The tool's answer: its result, or the tag of the error it failed with (a defect throws). */
export const runDirect = async <Client>(
  server: DavServer,
  client: Layer.Layer<Client, never, HttpClient.HttpClient | NextcloudConfig>,
  tool: AnyTool,
  input: unknown
): Promise<Outcome> => {
  const grant: Grant = {
    userId: UserId.make("tester"),
    loginName: server.loginName,
    ncUserId: server.userId,
    appPassword: Redacted.make(server.password),
    scopes: null,
    createdAt: 0,
    updatedAt: 0
  }
  const layer = withTransport(client).pipe(
    Layer.provideMerge(NextcloudConfig.make(server.host)),
    Layer.merge(Layer.succeed(Ocs, {} as never)),
    Layer.merge(Layer.succeed(Storage, {} as never)),
    Layer.merge(Layer.succeed(ScopeCache, {} as never))
  )
  const decoded = Schema.decodeUnknownSync(tool.input as Schema.Schema<unknown, unknown>)(input)
  const effect = tool.handler(decoded, { tool: tool.name, grant }) as unknown as Effect.Effect<Record<string, unknown>, { _tag: string }, never>
  const exit = await Effect.runPromiseExit(effect.pipe(Effect.provide(layer as Layer.Layer<never>)))
  if (Exit.isSuccess(exit)) return { ok: true, value: exit.value }
  const failure = exit.cause._tag === "Fail" ? (exit.cause.error as { _tag: string; message?: string; error?: { _tag: string; status?: number } }) : null
  if (failure === null) throw new Error(`defect: ${String(exit.cause)}`)
  const inner = failure._tag === "NextcloudCallFailed" ? `${failure.error?._tag ?? ""} ${failure.error?.status ?? ""}` : ""
  return { ok: false, tag: failure._tag, detail: inner.trim(), message: failure.message ?? "" }
}

/** The result of a call that must have succeeded. */
export const succeeded = (outcome: Outcome): Record<string, unknown> => {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.tag} ${outcome.detail}: ${outcome.message}`)
  return outcome.value
}
