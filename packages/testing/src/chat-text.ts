import { prng } from './scheduler.js'

const SYLLABLES =
  'ka to ri me su na lo be ti ga ve ro mi da po le shu an ter in con pre ment al ing ex'.split(' ')

/**
 * Seeded chat-like text: each call gives one message of 3 to 30 words drawn Zipf-like from a
 * 3,000-word vocabulary, sometimes a number, a capital and a full stop or question mark. It
 * compresses about as well as natural language, not as well as a counter in a fixed sentence, so
 * storage and wire sizes measured with it are fair.
 */
export const chatText = (seed: number): (() => string) => {
  const next = prng(seed)
  const vocabulary = Array.from({ length: 3000 }, () =>
    Array.from(
      { length: 1 + Math.floor(next() * 3) },
      () => SYLLABLES[Math.floor(next() * SYLLABLES.length)],
    ).join(''),
  )
  const word = () => vocabulary[Math.floor(vocabulary.length * next() ** 3)]!
  return () => {
    const words = Array.from({ length: 3 + Math.floor(next() * 28) }, word)
    if (next() < 0.2) words.push(String(Math.floor(next() * 10_000)))
    const text = words.join(' ')
    return `${text[0]!.toUpperCase()}${text.slice(1)}${next() < 0.3 ? '?' : '.'}`
  }
}
