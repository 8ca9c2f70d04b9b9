/**
 * A TCP proxy on 127.0.0.1 that can be frozen: while frozen it forwards
 * nothing in either direction and closes nothing (bytes wait in its
 * buffers), as a silently dropped network looks to both ends; new
 * connections are accepted but not forwarded either. Unfreezing delivers
 * what waited and forwards again.
 */
import * as net from "node:net"

export interface FreezableProxy {
  /** Port on 127.0.0.1 to connect to instead of the target's. */
  readonly port: number
  readonly freeze: () => void
  readonly unfreeze: () => void
  readonly close: () => Promise<void>
}

interface Pipe {
  readonly flush: () => void
  readonly destroy: () => void
}

export const startFreezableProxy = async (target: { readonly host: string; readonly port: number }): Promise<FreezableProxy> => {
  let frozen = false
  const pipes = new Set<Pipe>()

  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host)
    const toUpstream: Array<Buffer> = []
    const toClient: Array<Buffer> = []
    let upstreamReady = false
    const flush = () => {
      if (frozen) return
      if (upstreamReady) for (const chunk of toUpstream.splice(0)) upstream.write(chunk)
      for (const chunk of toClient.splice(0)) client.write(chunk)
    }
    const pipe: Pipe = {
      flush,
      destroy: () => {
        client.destroy()
        upstream.destroy()
      }
    }
    pipes.add(pipe)
    upstream.on("connect", () => {
      upstreamReady = true
      flush()
    })
    client.on("data", (chunk) => {
      toUpstream.push(chunk)
      flush()
    })
    upstream.on("data", (chunk) => {
      toClient.push(chunk)
      flush()
    })
    const end = () => {
      pipes.delete(pipe)
      pipe.destroy()
    }
    client.on("close", end)
    upstream.on("close", end)
    client.on("error", end)
    upstream.on("error", end)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("the proxy has no TCP port")

  return {
    port: address.port,
    freeze: () => {
      frozen = true
    },
    unfreeze: () => {
      frozen = false
      for (const pipe of pipes) pipe.flush()
    },
    close: async () => {
      for (const pipe of pipes) pipe.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
