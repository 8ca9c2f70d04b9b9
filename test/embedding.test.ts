/**
 * Another Effect program embeds the server using only the public exports of
 * `src/index.ts`: its own caller identity, its own (in-memory) storage, the
 * live Nextcloud clients pointed at the simulator, and an SDK Client over an
 * in-memory transport. Provisioning works end to end.
 */
import { randomBytes } from "node:crypto"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import {
  allTools,
  CurrentUser,
  coreLayer,
  makeMcpServer,
  NextcloudConfig,
  NextcloudLive,
  ProvisioningConfig,
  requireScopes,
  Simulator,
  StorageLayers,
  UserId
} from "../src/index.js"

const structured = (r: unknown) => (r as CallToolResult).structuredContent as Record<string, unknown>

describe("embedding", () => {
  it.scopedLive("builds a working server from the public exports inside another Effect program", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()

      // The host program's own choices: storage, Nextcloud, identity.
      const storage = StorageLayers.layer({ filename: ":memory:", key: Redacted.make(new Uint8Array(randomBytes(32))) })
      const config = NextcloudConfig.make(sim.url, { userAgent: "embedding-host/1.0" })
      const nextcloud = Layer.merge(NextcloudLive.pipe(Layer.provide(config)), config)
      const app = coreLayer({ storage, nextcloud, provisioning: ProvisioningConfig.layer() })
      const runtime = yield* Layer.toRuntime(app)

      const me = { userId: UserId.make("host-user-1"), tokenScopes: null }
      const server = makeMcpServer({ tools: allTools, runtime, identify: () => me })
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
      const client = new Client({ name: "embedding-test", version: "0.0.1" })
      yield* Effect.acquireRelease(
        Effect.promise(async () => {
          await server.connect(serverSide)
          await client.connect(clientSide)
        }),
        () => Effect.promise(() => client.close())
      )
      const call = (name: string, args: Record<string, unknown> = {}) =>
        Effect.promise(() => client.callTool({ name, arguments: args })).pipe(Effect.map(structured))

      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["nc_auth_provision_access", "nc_auth_check_status"]))

      const started = yield* call("nc_auth_provision_access", { scopes: ["notes:read", "files.read"] })
      expect(started).toMatchObject({ status: "login_required", user_id: "host-user-1", requested_scopes: ["files.read", "notes.read"] })
      const loginUrl = started["login_url"] as string
      expect(loginUrl.startsWith(`${sim.url}/`)).toBe(true)

      const granted = yield* sim.grant({ flow: loginUrl, userId: "alice" })
      // The app password is named after the host's User-Agent.
      expect(granted.name).toContain("embedding-host")
      const done = yield* call("nc_auth_check_status")
      expect(done).toMatchObject({
        status: "provisioned",
        user_id: "host-user-1",
        username: "alice",
        scopes: ["files.read", "notes.read"]
      })

      // The host program can use the same services for its own scope checks.
      const grant = yield* requireScopes({ tool: "host_notes_check", scopes: ["notes.read"] }).pipe(
        Effect.provideService(CurrentUser, me),
        Effect.provide(runtime.context)
      )
      expect(grant.loginName).toBe("alice")
      const denied = yield* requireScopes({ tool: "host_calendar_check", scopes: ["calendar.write"] }).pipe(
        Effect.provideService(CurrentUser, me),
        Effect.provide(runtime.context),
        Effect.flip
      )
      expect(denied._tag).toBe("InsufficientScope")

      const revoked = yield* call("nc_auth_revoke_access")
      expect(revoked).toMatchObject({ status: "revoked", remote_revoked: true })
      expect(yield* sim.appPasswordStatus(granted.appPassword)).toBe("revoked")
      expect(yield* call("nc_auth_check_status")).toMatchObject({ status: "not_initiated" })
    })
  )
})
