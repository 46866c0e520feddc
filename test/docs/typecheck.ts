import { join } from 'node:path'
import ts from 'typescript'
import { type Block, PRELUDE, slug } from './blocks.js'

/**
 * Types of the UI frameworks docs/bindings.md shows, which the workspace does not install: just
 * the members those blocks call, so the Tidings side of each block is still checked.
 */
const FRAMEWORKS = `
declare module 'svelte/store' {
  export interface Readable<T> { subscribe(run: (value: T) => void): () => void }
  export function readable<T>(value: T, start: (set: (value: T) => void) => (() => void) | void): Readable<T>
}
declare module 'vue' {
  export interface Ref<T> { value: T }
  export function shallowRef<T>(value: T): Ref<T>
  export function onScopeDispose(fn: () => void): void
}
declare module 'solid-js' {
  export type Accessor<T> = () => T
  export function createSignal<T>(value: T): [Accessor<T>, (next: (previous: T) => T) => T]
  export function onCleanup(fn: () => void): void
}
`

/** Names a block declares at its top level, imports included. */
const declaredNames = (code: string): Set<string> => {
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TSX)
  const names = new Set<string>()
  const bind = (name: ts.BindingName) => {
    if (ts.isIdentifier(name)) names.add(name.text)
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name)
  }
  for (const statement of source.statements) {
    if (ts.isVariableStatement(statement))
      for (const d of statement.declarationList.declarations) bind(d.name)
    else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name)
      names.add(statement.name.text)
    else if (ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause
      if (clause.name) names.add(clause.name.text)
      const bindings = clause.namedBindings
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text)
      if (bindings && ts.isNamedImports(bindings)) for (const e of bindings.elements) names.add(e.name.text)
    }
  }
  return names
}

/**
 * The module a block becomes: a partial block gets one first line declaring the prelude names it
 * does not define; every block ends with `export {}` so it is a module with its own scope.
 */
export const moduleText = (block: Block): { text: string; offset: number } => {
  const ending = '\nexport {}\n'
  if (block.mode !== 'partial') return { text: `${block.code}${ending}`, offset: 0 }
  const own = declaredNames(block.code)
  const prelude = Object.entries(PRELUDE)
    .filter(([name]) => !own.has(name))
    .map(([name, type]) => `declare const ${name}: ${type};`)
    .join(' ')
  return { text: `${prelude}\n${block.code}${ending}`, offset: 1 }
}

/**
 * Type-checks every block as its own module in one program, resolved like the repository's code
 * (`@tidings/*` to packages' sources). Returns one line per error: `file:line: message`.
 */
export const typecheckBlocks = (root: string, blocks: Block[]): string[] => {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
      },
    },
  )
  if (!config) throw new Error('tsconfig.json could not be read')
  const options: ts.CompilerOptions = { ...config.options, noEmit: true }
  // Virtual files inside the repository, so bare imports resolve from its node_modules.
  const folder = join(root, 'test/docs/.blocks')
  const files = new Map<string, { block: Block; text: string; offset: number }>()
  for (const block of blocks)
    files.set(join(folder, `${slug(block)}.${block.lang}`), { block, ...moduleText(block) })
  const frameworks = join(folder, 'frameworks.d.ts')
  const host = ts.createCompilerHost(options)
  const virtual = (name: string) => (name === frameworks ? FRAMEWORKS : files.get(name)?.text)
  const { getSourceFile, fileExists, readFile } = host
  host.fileExists = (name) => virtual(name) !== undefined || fileExists.call(host, name)
  host.readFile = (name) => virtual(name) ?? readFile.call(host, name)
  host.getSourceFile = (name, language, ...rest) => {
    const text = virtual(name)
    if (text === undefined) return getSourceFile.call(host, name, language, ...rest)
    return ts.createSourceFile(name, text, language)
  }
  const program = ts.createProgram([...files.keys(), frameworks], options, host)
  const errors: string[] = []
  for (const [name, { block, offset }] of files) {
    const source = program.getSourceFile(name)!
    const diagnostics = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ]
    for (const d of diagnostics) {
      const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line - offset
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n  ')
      errors.push(
        `${block.file}:${block.line + 1 + line} (${block.mode} block at line ${block.line}): ${text}`,
      )
    }
  }
  return errors
}
