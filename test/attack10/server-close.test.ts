import { describe, expect, it } from 'vitest'
import { device, proxyTo, waitFor } from '../e2e/helpers.js'
import { startServer } from './world.js'

describe('server shutdown with a dead client', () => {
  it('server.close() does not wait out a half-open connection', async () => {
    const server = await startServer()
    const proxy = await proxyTo(server)
    const bob = device(proxy.url, 'bob')
    await bob.client.open('room')
    await waitFor(() => bob.client.connection === 'online', 'bob online', { watch: [bob.client] })
    proxy.stall() // bob's link is now half-open: the server's close frame never gets an answer
    await bob.close()
    const started = Date.now()
    const closed = server.close().then(() => Date.now() - started)
    const within = await Promise.race([closed, new Promise<'late'>((r) => setTimeout(() => r('late'), 5000))])
    await proxy.close() // frees the socket, so a late close finishes before the next test
    await closed
    // SIGTERM in an orchestrator gives a few seconds; a dead peer must not hold the process for 30 s.
    expect(within, 'server.close() took longer than 5 s').not.toBe('late')
  })
})
