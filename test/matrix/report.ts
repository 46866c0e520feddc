/**
 * The fault matrix prints one line per row with its figure, so a run of `npm test` shows what was
 * measured, not only that it passed.
 */
export const row = (fault: string, figure: string): void => {
  console.log(`[fault matrix] ${fault} | ${figure}`)
}

/** Seeds a matrix run tries: `TIDINGS_MATRIX_SEEDS` (the soak run sets 10,000), else `fallback`. */
export const seedCount = (fallback: number): number => {
  const soak = process.env.TIDINGS_SOAK ? 10_000 : undefined
  const value = Number(process.env.TIDINGS_MATRIX_SEEDS ?? soak ?? fallback)
  return Number.isInteger(value) && value > 0 ? value : fallback
}
