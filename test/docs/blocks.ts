import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * How a block is checked, from its info string (```ts, ```ts check, ```ts partial):
 * - `run`: complete and self-contained; type-checked, then run with tsx and must exit 0;
 * - `check`: complete, but needs a browser or a server of your own; type-checked only;
 * - `partial`: a fragment on purpose; type-checked with the names of {@link PRELUDE} declared.
 */
export type BlockMode = 'run' | 'check' | 'partial'

/** One TypeScript code block of a Markdown file. */
export interface Block {
  /** Path relative to the repository root. */
  file: string
  /** Line of the opening fence, 1-based. */
  line: number
  lang: 'ts' | 'tsx'
  mode: BlockMode
  code: string
}

/** Every Markdown file whose code blocks a reader may copy: READMEs and the guides. */
export const docFiles = (root: string): string[] => {
  const inside = (folder: string, pick: (name: string) => string | undefined) =>
    readdirSync(join(root, folder), { withFileTypes: true })
      .map((entry) => pick(entry.name) && `${folder}/${pick(entry.name)}`)
      .filter((path): path is string => !!path && existsSync(join(root, path)))
  return [
    'README.md',
    ...inside('docs', (name) => (name.endsWith('.md') ? name : undefined)),
    ...inside('packages', (name) => `${name}/README.md`),
    ...inside('examples', (name) => `${name}/README.md`),
  ]
}

const fence = /^```(ts|tsx|typescript)\b(.*)$/

/** The TypeScript blocks of one Markdown file, in order. */
export const extractBlocks = (root: string, file: string): Block[] => {
  const lines = readFileSync(join(root, file), 'utf8').split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = fence.exec(lines[i]!)
    if (!open) continue
    const end = lines.findIndex((line, j) => j > i && line.startsWith('```'))
    if (end < 0) throw new Error(`${file}:${i + 1}: a code block that never closes`)
    const flags = open[2]!.trim().split(/\s+/)
    const mode: BlockMode = flags.includes('partial') ? 'partial' : flags.includes('check') ? 'check' : 'run'
    const lang = open[1] === 'tsx' ? 'tsx' : 'ts'
    blocks.push({ file, line: i + 1, lang, mode, code: lines.slice(i + 1, end).join('\n') })
    i = end
  }
  return blocks
}

/** A name for the block usable as a file name: `docs-guide.md-35`. */
export const slug = (block: Block): string => `${block.file.replaceAll('/', '-')}-${block.line}`

/**
 * What a partial block may use without defining it: the names the docs say "you already have".
 * A partial block that declares one of these itself keeps its own.
 */
export const PRELUDE: Record<string, string> = {
  client: "import('@tidings/core').Client",
  alice: "import('@tidings/core').Client",
  bob: "import('@tidings/core').Client",
  convo: "import('@tidings/core').Conversation",
  room: "import('@tidings/core').Conversation",
  other: "import('@tidings/core').Message",
  id: 'string',
  body: "import('@tidings/core').Json",
  storage: "import('@tidings/core').StorageAdapter",
  transport: "import('@tidings/core').Transport",
  server: "import('@tidings/server').TidingsServer",
  token: 'string',
  url: 'string',
  doc: "import('yjs').Doc",
  render: '() => void',
  timers: "import('@tidings/core').Timers",
  net: "ReturnType<typeof import('@tidings/testing').createSimulatedNetwork>",
  device:
    "Awaited<ReturnType<ReturnType<typeof import('@tidings/testing').createSimulatedNetwork>['device']>>",
  sessions: '{ lookup(token: string): Promise<{ id: string; muted: boolean } | undefined> }',
  rooms: '{ isMember(user: string, conversation: string): Promise<boolean> }',
  appDocs: '{ canOpen(user: string, doc: string): Promise<boolean> }',
}
