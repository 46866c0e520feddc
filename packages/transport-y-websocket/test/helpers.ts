/** Resolves when `predicate` holds, checking after every turn of the event loop; fails after `ms`. */
export const waitFor = async (predicate: () => boolean, what = 'a condition', ms = 10_000): Promise<void> => {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}
