import { describe, expect, it } from "@effect/vitest"
import { join } from "node:path"
import { Layer } from "effect"
import { Cipher } from "../../src/storage/Cipher.js"
import { SqliteStorage } from "../../src/storage/SqliteStorage.js"
import { randomKey, tempDir } from "./fixtures.js"
import { storageSuite } from "./storageSuite.js"

const key = randomKey()
const cipher = Cipher.layer(key)

let n = 0
const dir = tempDir()
storageSuite("sqlite file", () =>
  SqliteStorage.layer({ filename: join(dir, `suite-${n++}`, "store.db") }).pipe(Layer.provide(cipher))
)
storageSuite("sqlite :memory:", () => SqliteStorage.layerMemory.pipe(Layer.provide(cipher)))

describe("placeholder", () => {
  it("runs", () => expect(1).toBe(1))
})
