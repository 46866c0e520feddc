import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ServerMetrics } from './metrics.js'

/** What `GET /health` answers. */
export interface Health {
  /** False once the server is shutting down. */
  readonly up: boolean
  /** The last commit succeeded, and the default storage's folder is writable. */
  readonly storageWritable: boolean
  readonly docsLoaded: number
  readonly connections: number
}

export interface ReportSources {
  readonly metrics: ServerMetrics
  up(): boolean
  /** False after a failed storage write, until one succeeds. */
  lastWriteOk(): boolean
  /** The default SQLite storage's folder; undefined for an app's own storage. */
  readonly dataDir: string | undefined
  docsLoaded(): number
  connections(): number
}

/** Checked without writing: a probe write per scrape would cost a transaction every few seconds. */
const folderWritable = async (dir: string | undefined): Promise<boolean> => {
  if (dir === undefined) return true
  try {
    await access(dir, constants.W_OK)
    return true
  } catch {
    return false
  }
}

export const health = async (sources: ReportSources): Promise<Health> => ({
  up: sources.up(),
  storageWritable: sources.lastWriteOk() && (await folderWritable(sources.dataDir)),
  docsLoaded: sources.docsLoaded(),
  connections: sources.connections(),
})

/**
 * Answers `GET /health` and `GET /metrics`; false for any other request, which goes on to the
 * app's `request` handler or a 404.
 */
export const answerReport = (
  sources: ReportSources,
  request: IncomingMessage,
  response: ServerResponse,
  report: (error: unknown) => void,
): boolean => {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false
  const path = new URL(request.url ?? '/', 'http://localhost').pathname
  const send = (body: Promise<{ status: number; type: string; text: string }>) =>
    body.then(
      ({ status, type, text }) => {
        response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(text)
      },
      (error: unknown) => {
        report(error)
        if (!response.headersSent) response.writeHead(500)
        response.end()
      },
    )
  if (path === '/health') {
    void send(
      health(sources).then((value) => ({
        status: value.up && value.storageWritable ? 200 : 503,
        type: 'application/json',
        text: `${JSON.stringify(value)}\n`,
      })),
    )
    return true
  }
  if (path === '/metrics') {
    const { metrics } = sources
    void send(metrics.text().then((text) => ({ status: 200, type: metrics.contentType, text })))
    return true
  }
  return false
}
