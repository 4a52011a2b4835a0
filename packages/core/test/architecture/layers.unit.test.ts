import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src')

/**
 * core's layers, lowest first (packages/core/README.md draws them). A file may
 * import from its own folder and from any folder of a lower layer, never upward
 * and never sideways into another folder of its own layer.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['errors', 'model'],
  ['driver'],
  ['config', 'events', 'classify'],
  ['consistency', 'mirror'],
  ['topology'],
  ['health', 'status', 'tracing'],
  ['routing'],
  ['connection', 'failover'],
  ['cluster'],
  ['http'],
  ['multi'],
  ['.'],
]

function layerOf(folder: string): number {
  const layer = LAYERS.findIndex((folders) => folders.includes(folder))
  if (layer < 0) throw new Error(`folder ${folder} is in no layer: add it to LAYERS and to the README's map`)
  return layer
}

/** The top-level folder of a file under src ('.' for src itself). */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split('/')
  return parts.length === 1 ? '.' : parts[0]!
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : []
  })
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  // Statements only (at the start of a line), not examples in comments.
  return [...text.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.{1,2}\/[^']+)'/gm)].map((m) =>
    resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')),
  )
}

describe('core layering', () => {
  it('every import points down a layer, or stays in its folder', () => {
    const wrong: string[] = []
    for (const file of sources(SRC)) {
      const from = folderOf(file)
      for (const target of imports(file)) {
        const to = folderOf(target)
        if (to === from) continue
        if (layerOf(to) >= layerOf(from)) {
          wrong.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`)
        }
      }
    }
    expect(wrong).toEqual([])
  })

  it('every folder of src is in a layer', () => {
    const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory())
    for (const folder of folders) expect(() => layerOf(folder)).not.toThrow()
  })
})
