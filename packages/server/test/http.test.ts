import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startServer } from './helpers.js'

const httpUrl = (wsUrl: string, path: string) => `${wsUrl.replace(/^ws/, 'http')}${path}`

const opens = (url: string) =>
  new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('open', () => {
      ws.terminate()
      resolve()
    })
    ws.once('error', reject)
  })

describe('plain HTTP beside the sync protocol', () => {
  it('answers 404 to plain requests by default', async () => {
    const server = await startServer()
    const response = await fetch(httpUrl(server.url, '/'))
    expect(response.status).toBe(404)
    expect((await fetch(httpUrl(server.url, '/anything'))).status).toBe(404)
  })

  it('hands plain requests to `request`, while WebSockets on the same port still reach the server', async () => {
    const seen: string[] = []
    const server = await startServer({
      request: (request, response) => {
        seen.push(request.url ?? '')
        response.writeHead(200, { 'content-type': 'text/html' }).end('<p>app</p>')
      },
    })
    const response = await fetch(httpUrl(server.url, '/index.html'))
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('<p>app</p>')
    expect(seen).toEqual(['/index.html'])
    await opens(server.url)
    await opens(`${server.url}/y/room?token=t-alice`)
    expect(seen).toEqual(['/index.html'])
  })

  it('answers 500 when the handler throws, and keeps serving', async () => {
    const errors: unknown[] = []
    const server = await startServer({
      onError: (error) => errors.push(error),
      request: (request, response) => {
        if (request.url === '/boom') throw new Error('boom')
        response.end('ok')
      },
    })
    expect((await fetch(httpUrl(server.url, '/boom'))).status).toBe(500)
    expect(errors).toHaveLength(1)
    expect(await (await fetch(httpUrl(server.url, '/fine'))).text()).toBe('ok')
    await opens(server.url)
  })
})
