import { describe, expect, it } from 'vitest'
import { isTidingsError, TidingsError } from '../src/errors.js'

describe('isTidingsError', () => {
  it('recognises an error from another copy of the package, where instanceof fails', async () => {
    // The query string makes Vite evaluate errors.ts a second time: a separate class, as a second
    // install or the CJS build beside the ESM one would give.
    const copy = '../src/errors.ts?another-copy'
    const other: typeof import('../src/errors.js') = await import(/* @vite-ignore */ copy)
    const error = new other.TidingsError('storage/locked', 'held by another process')

    expect(other.TidingsError).not.toBe(TidingsError)
    expect(error instanceof TidingsError).toBe(false)
    expect(isTidingsError(error)).toBe(true)
    expect(isTidingsError(error, 'storage/locked')).toBe(true)
    expect(isTidingsError(error, 'storage/corrupt')).toBe(false)
    expect(other.isTidingsError(new TidingsError('auth/denied', 'no'), 'auth/denied')).toBe(true)
  })

  it('refuses look-alikes without the brand, and values that are not objects', () => {
    const lookAlike = Object.assign(new Error('x'), { name: 'TidingsError', code: 'storage/locked' })
    expect(isTidingsError(lookAlike)).toBe(false)
    for (const value of [undefined, null, 'storage/locked', 42]) expect(isTidingsError(value)).toBe(false)
  })
})
