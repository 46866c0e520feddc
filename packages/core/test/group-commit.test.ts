import { describe, expect, it } from 'vitest'
import { GroupCommit } from '../src/group-commit.js'

/** A fake store that records each transaction and fails any that holds a poisoned item. */
const recorder = () => {
  const transactions: number[][] = []
  const committed: number[] = []
  const group = new GroupCommit<number>(
    (items) => {
      transactions.push([...items])
      if (items.some((i) => i < 0)) throw new Error(`refused ${items.join(',')}`)
      committed.push(...items)
    },
    (error) => new Error(`mapped: ${(error as Error).message}`),
  )
  return { group, transactions, committed }
}

describe('GroupCommit', () => {
  it('commits the writes of one turn in one transaction, resolving each after it', async () => {
    const { group, transactions, committed } = recorder()
    const resolved: number[] = []
    const writes = [1, 2, 3].map((i) => group.push(i).then(() => resolved.push(i)))
    expect(transactions).toEqual([])
    await Promise.all(writes)
    expect(transactions).toEqual([[1, 2, 3]])
    expect(committed).toEqual([1, 2, 3])
    expect(resolved).toEqual([1, 2, 3])
    await group.push(4)
    expect(transactions).toEqual([[1, 2, 3], [4]])
    expect(group.transactions).toBe(2)
  })

  it('retries each write alone when the shared commit fails, so only the bad one fails', async () => {
    const { group, transactions, committed } = recorder()
    const results = await Promise.allSettled([group.push(1), group.push(-1), group.push(2)])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('mapped: refused -1')
    expect(transactions).toEqual([[1, -1, 2], [1], [-1], [2]])
    expect(committed).toEqual([1, 2])
  })

  it('commits at once when flushed, so a read sees the writes before it', async () => {
    const { group, committed } = recorder()
    const write = group.push(5)
    group.flush()
    expect(committed).toEqual([5])
    await write
    group.flush()
    expect(committed).toEqual([5])
  })
})

describe('GroupCommit with an asynchronous commit', () => {
  /** A store whose commits take a turn each and fail when they hold a poisoned item. */
  const slowRecorder = () => {
    const transactions: number[][] = []
    let inFlight = 0
    let overlapped = false
    const group = new GroupCommit<number>(
      async (items) => {
        transactions.push([...items])
        inFlight++
        if (inFlight > 1) overlapped = true
        await new Promise((resolve) => setTimeout(resolve, 1))
        inFlight--
        if (items.some((i) => i < 0)) throw new Error(`refused ${items.join(',')}`)
      },
      (error) => new Error(`mapped: ${(error as Error).message}`),
    )
    return { group, transactions, overlapped: () => overlapped }
  }

  it('queues writes that arrive during a commit into the next one, one commit at a time', async () => {
    const { group, transactions, overlapped } = slowRecorder()
    const first = group.push(1)
    await new Promise((resolve) => setImmediate(resolve))
    // The first commit is in flight: these three wait for it and then share one transaction.
    const later = [2, 3, 4].map((i) => group.push(i))
    group.flush()
    await Promise.all([first, ...later])
    expect(transactions).toEqual([[1], [2, 3, 4]])
    expect(overlapped()).toBe(false)
  })

  it('retries each write alone after a failed shared commit, and settled() waits for all', async () => {
    const { group, transactions } = slowRecorder()
    const results = Promise.allSettled([group.push(1), group.push(-1), group.push(2)])
    await group.settled()
    expect(transactions).toEqual([[1, -1, 2], [1], [-1], [2]])
    expect((await results).map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(group.transactions).toBe(4)
  })
})
