import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const packages = fileURLToPath(new URL('../../packages/', import.meta.url))

/** Bundles a page script for the browser, resolving every `@tidings/<name>` to its sources. */
export const bundlePage = async (entry: string): Promise<string> => {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [
      {
        name: 'tidings-sources',
        setup(b) {
          b.onResolve({ filter: /^@tidings\/[a-z-]+$/ }, ({ path }) => ({
            path: join(packages, path.slice('@tidings/'.length), 'src/index.ts'),
          }))
        },
      },
    ],
  })
  return result.outputFiles[0]!.text
}

/** Serves `script` as /page.js under a page that loads it, on 127.0.0.1 and a free port. */
export const servePage = (script: string): Promise<Server & { url: string }> =>
  new Promise((resolve) => {
    const server = createServer((req, res) => {
      if (req.url === '/page.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' })
        res.end(script)
      } else {
        res.writeHead(200, { 'content-type': 'text/html' })
        res.end('<!doctype html><script type="module" src="/page.js"></script>')
      }
    })
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      resolve(Object.assign(server, { url: `http://127.0.0.1:${port}/` }))
    })
  })
