/**
 * The fault matrix prints one line per row with its figure, so a run of `npm test` shows what was
 * measured, not only that it passed.
 */
export const row = (fault: string, figure: string): void => {
  console.log(`[fault matrix] ${fault} | ${figure}`)
}

/** How many times the soak run (`npm run test:soak`) multiplies every row's seeds: about 10,000 in all. */
export const SOAK_FACTOR = 50

/**
 * Seeds a matrix row tries: `TIDINGS_MATRIX_SEEDS` when set, else `fallback` (sized so `npm test`
 * stays under 6 minutes), times `SOAK_FACTOR` in the soak run.
 */
export const seedCount = (fallback: number): number => {
  const fixed = Number(process.env.TIDINGS_MATRIX_SEEDS)
  if (Number.isInteger(fixed) && fixed > 0) return fixed
  return process.env.TIDINGS_SOAK ? fallback * SOAK_FACTOR : fallback
}

/** A row's test timeout: the soak run's rows take an hour or more. */
export const ROW_TIMEOUT = process.env.TIDINGS_SOAK ? 4 * 3_600_000 : 600_000
