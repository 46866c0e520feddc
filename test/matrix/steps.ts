/**
 * Small steps the matrix rows share. Virtual time moves only in `advance` and `settle`; the
 * clients' storage writes and the applies that delivered frames start run on real ticks.
 */

/** Lets the clients finish what frames delivered so far started, without moving virtual time. */
export const ticks = async (n = 2): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/** One of `items`, drawn with a seeded `random` so a run replays; undefined when there is none. */
export const pick = <T>(random: () => number, items: readonly T[]): T | undefined =>
  items[Math.floor(random() * items.length)]

/** A copy of `items` in an order drawn with a seeded `random` (Fisher–Yates). */
export const shuffle = <T>(random: () => number, items: readonly T[]): T[] => {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}
