/** True when both lists hold the same items, by reference, in the same order. */
export const sameItems = <T>(a: readonly T[], b: readonly T[]): boolean =>
  a.length === b.length && a.every((item, i) => Object.is(item, b[i]))
