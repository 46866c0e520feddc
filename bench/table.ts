/** A markdown table; by default the first column is left-aligned and the others (numbers) right. */
export const markdownTable = (
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  leftColumns = 1,
): string => {
  const widths = headers.map((h, c) => Math.max(h.length, 3, ...rows.map((r) => (r[c] ?? '').length)))
  const left = (c: number) => c < leftColumns
  const line = (cells: readonly string[]) =>
    `| ${widths.map((w, c) => (left(c) ? (cells[c] ?? '').padEnd(w) : (cells[c] ?? '').padStart(w))).join(' | ')} |`
  const rule = `| ${widths.map((w, c) => (left(c) ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`
  return [line(headers), rule, ...rows.map(line)].join('\n')
}

/** Integer with thin thousands separators: 100000 → "100,000". */
export const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a')

/** Three significant digits, enough for timings that vary by a few percent between runs. */
export const sig = (n: number): string => {
  if (!Number.isFinite(n)) return 'n/a'
  if (Math.abs(n) >= 1000) return int(n)
  return Number(n.toPrecision(3)).toString()
}

export const ms = (n: number): string => (Number.isFinite(n) ? `${sig(n)} ms` : 'n/a')

export const seconds = (milliseconds: number): string =>
  Number.isFinite(milliseconds) ? `${(milliseconds / 1000).toFixed(1)} s` : 'n/a'

export const bytes = (n: number): string => {
  if (!Number.isFinite(n)) return 'n/a'
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(2)} MiB`
}

export const ratio = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a')
