import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
/** The web chat's folder, and the folder its build goes to (gitignored). */
export const WEB_CHAT = join(root, 'examples/web-chat')
export const WEB_CHAT_DIST = join(WEB_CHAT, 'dist')

const newest = (path: string): number => {
  const stat = statSync(path, { throwIfNoEntry: false })
  if (!stat) return 0
  if (!stat.isDirectory()) return stat.mtimeMs
  let time = 0
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist') continue
    time = Math.max(time, newest(join(path, entry)))
  }
  return time
}

/**
 * True when the build is missing or older than anything it is made of: the app's files and the
 * sources of the packages it bundles (the app builds from package sources, not their dist).
 */
export const webChatStale = (): boolean => {
  const built = statSync(join(WEB_CHAT_DIST, 'index.html'), { throwIfNoEntry: false })?.mtimeMs ?? 0
  const packages = join(root, 'packages')
  const sources = [
    join(WEB_CHAT, 'src'),
    join(WEB_CHAT, 'public'),
    join(WEB_CHAT, 'index.html'),
    join(WEB_CHAT, 'vite.config.ts'),
    ...readdirSync(packages).map((name) => join(packages, name, 'src')),
  ]
  return sources.some((path) => newest(path) > built)
}

/** Builds the web chat with Vite when it is stale; resolves true when it built. */
export const buildWebChat = async (log: (line: string) => void = () => {}): Promise<boolean> => {
  if (!webChatStale()) return false
  log('Building the web chat (examples/web-chat) with Vite…')
  const { build } = await import('vite')
  await build({ configFile: join(WEB_CHAT, 'vite.config.ts'), logLevel: 'warn' })
  return true
}
