import { MAX_DRIFT } from '@tidings/core'
import { describe, expect, it } from 'vitest'
import { assertConverged, createSimulatedNetwork } from '../src/index.js'

const DAY = 86_400_000

/** A device a day fast sends before its first offset arrives (nothing moves until the network does). */
const dayFastSend = async (clock: boolean) => {
  const net = createSimulatedNetwork({ seed: 5, server: { clock } })
  const phone = await net.device('alice', { skewMs: DAY })
  const laptop = await net.device('bob')
  const sent = await (await phone.client.open('room')).send({ text: 'from the future' })
  await net.settle()
  await assertConverged(net, 'room')
  const seen = (await laptop.client.open('room')).messages().find((m) => m.id === sent.id)
  const codes = phone.errors.map((e) => e.code)
  await net.close()
  return { net, seen, codes }
}

describe('server clock', () => {
  it('on: the offset reported at connect makes the client re-stamp what it sent a day ahead', async () => {
    const { net, seen } = await dayFastSend(true)
    expect(seen?.status).toBe('delivered')
    expect(seen!.sentAt).toBeLessThanOrEqual(net.now + MAX_DRIFT)
  })

  it('refuses a stamp beyond its time + MAX_DRIFT with clock/skew and reports the offset again', async () => {
    const net = createSimulatedNetwork({ seed: 8, server: { clock: true } })
    const phone = await net.device('alice')
    await net.settle()
    // The clock jumps after the offset was measured: only the refusal can tell the client.
    net.jump(phone, DAY)
    const sent = await (await phone.client.open('room')).send({ text: 'jumped' })
    await net.settle()
    expect(phone.errors.map((e) => e.code)).toContain('clock/skew')
    const seen = (await phone.client.open('room')).messages().find((m) => m.id === sent.id)
    expect(seen?.status).toBe('sent')
    expect(seen!.sentAt).toBeLessThanOrEqual(net.now + MAX_DRIFT)
    await net.close()
  })

  it('off: the stamp stands as written and nothing is refused', async () => {
    const { net, seen, codes } = await dayFastSend(false)
    expect(codes).not.toContain('clock/skew')
    expect(seen!.sentAt).toBeGreaterThan(net.now + MAX_DRIFT)
  })

  it('reports the offset at connect: a device that connects before sending stamps by server time', async () => {
    const net = createSimulatedNetwork({ seed: 6, server: { clock: true } })
    const phone = await net.device('alice', { skewMs: DAY })
    net.advance(1)
    const sent = await (await phone.client.open('room')).send({ text: 'corrected' })
    await net.settle()
    expect(phone.errors.map((e) => e.code)).not.toContain('clock/skew')
    expect(sent.sentAt).toBeLessThanOrEqual(net.now + MAX_DRIFT)
    await net.close()
  })
})
