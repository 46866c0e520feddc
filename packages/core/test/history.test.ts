import { describe, expect, it } from 'vitest'
import { History } from '../src/history.js'

const HOUR = 60 * 60 * 1000
const WEEK = 7 * 24 * HOUR
const info = (doc: string) => ({ doc, updates: 1, messages: 1, newest: 0 })
/** A lane doc name with its own period length, as core names them. */
const doc = (period: number, periodMs: number) =>
  periodMs === WEEK ? `c/normal/${period}` : `c/normal/${period}~${periodMs}`

describe('History', () => {
  it('names periods by start time, so docs of different lengths order together', () => {
    const week = 2900
    const start = week * WEEK
    const firstHour = start / HOUR
    const history = new History([
      info(doc(week, WEEK)),
      info(doc(firstHour + 5, HOUR)),
      info(doc(firstHour - 1, HOUR)),
    ])
    expect(history.periods()).toEqual([start + 5 * HOUR, start, start - HOUR])
    expect(history.endOf(start)).toBe(start + WEEK)
    expect(history.docsOfPeriod(start + 5 * HOUR)).toEqual([doc(firstHour + 5, HOUR)])
  })

  it('finds a longer period that reaches into the loaded window from before it, and only that', () => {
    const week = 2900
    const start = week * WEEK
    const firstHour = start / HOUR
    const history = new History([
      info(doc(week, WEEK)),
      info(doc(firstHour + 5, HOUR)),
      info(doc(firstHour - 1, HOUR)),
    ])
    history.markLoaded(start + 5 * HOUR)
    // The week starts before the loaded hour but ends after it: its messages sit among those shown.
    expect(history.overlapping()).toBe(start)
    expect(history.inWindow(start)).toBe(true)
    history.markLoaded(start)
    // The hour before the week ends where the window starts: no overlap, an older page.
    expect(history.overlapping()).toBeUndefined()
    expect(history.older()).toEqual([start - HOUR])
    expect(history.inWindow(start - HOUR)).toBe(false)
  })

  it('never finds an overlap among periods of one length', () => {
    const history = new History([2897, 2898, 2899, 2900].map((p) => info(doc(p, WEEK))))
    history.markLoaded(2900 * WEEK)
    expect(history.overlapping()).toBeUndefined()
    expect(history.older()).toEqual([2899 * WEEK, 2898 * WEEK, 2897 * WEEK])
  })
})
