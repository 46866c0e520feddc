/**
 * The machine-readable result of a bench run: one row per scenario and size, written to
 * `bench/results/latest.json` beside the tables of RESULTS.md. `goalMet` is always computed from
 * the measured value and ratio by the row's own check, never typed in.
 */

/** Which way a figure is better, for a goal stated as a bound. */
export type Bound = { readonly atMost: number } | { readonly atLeast: number }

export interface Row {
  /** The scenario in words, as in the table, e.g. `append, memory storage`. */
  readonly scenario: string
  /** What was measured, e.g. `cost ratio 100k/10k` or `open ms @ 1M`. */
  readonly metric: string
  readonly unit: string
  readonly value: number
  /** The same metric for each peer measured in the same run, by name. */
  readonly peers: Readonly<Record<string, number>>
  /** The figure the goal bounds when it is relative (value ÷ a peer, or another ratio); else null. */
  readonly ratio: number | null
  /** The goal in words, e.g. `≥ 0.6× raw Yjs Y.Map.set`. Empty when the row is reported only. */
  readonly goal: string
  /** Computed: whether the bounded figure meets the goal; null for rows without a goal. */
  readonly goalMet: boolean | null
}

export interface RowSpec {
  readonly scenario: string
  readonly metric: string
  readonly unit: string
  readonly value: number
  readonly peers?: Readonly<Record<string, number>>
  /** Set for a relative goal: the bound then applies to the ratio instead of the value. */
  readonly ratio?: number
  readonly goal?: string
  /** The bound the goal states, applied to `ratio` when given, else to `value`. */
  readonly bound?: Bound
}

const meets = (figure: number, bound: Bound): boolean =>
  Number.isFinite(figure) && ('atMost' in bound ? figure <= bound.atMost : figure >= bound.atLeast)

/** Builds a row and computes its `goalMet` from the bound; a row without a bound has no goal. */
export const row = (spec: RowSpec): Row => {
  const ratio = spec.ratio ?? null
  const figure = ratio ?? spec.value
  return {
    scenario: spec.scenario,
    metric: spec.metric,
    unit: spec.unit,
    value: spec.value,
    peers: spec.peers ?? {},
    ratio,
    goal: spec.goal ?? '',
    goalMet: spec.bound ? meets(figure, spec.bound) : null,
  }
}

/** A part of the bench: a titled markdown body for RESULTS.md and its rows for latest.json. */
export interface Section {
  readonly title: string
  readonly body: string
  readonly rows: readonly Row[]
}

/** How a section runs: `smoke` is the tiny run of `npm test` (sizes shrunk, one rep, no verdict). */
export interface RunOptions {
  readonly smoke: boolean
}

/** One entry of the bench: a name for BENCH_ONLY and the function that measures it. */
export interface Part {
  readonly name: string
  run(options: RunOptions): Promise<Section>
}

/** A markdown list of each row's verdict, for the end of a section. */
export const verdicts = (rows: readonly Row[]): string =>
  rows
    .filter((r) => r.goalMet !== null)
    .map((r) => {
      const figure = r.ratio === null ? `${fmt(r.value)} ${r.unit}` : `${fmt(r.ratio)}×`
      return `- ${r.scenario}, ${r.metric}: ${figure} against ${r.goal}: **${r.goalMet ? 'met' : 'NOT met'}**`
    })
    .join('\n')

const fmt = (n: number): string => (Number.isFinite(n) ? Number(n.toPrecision(3)).toString() : 'n/a')

/** What one part left in latest.json: its rows, its RESULTS.md section and when it ran. */
export interface PartRecord {
  readonly part: string
  readonly date: string
  readonly durationMs: number
  readonly machine: readonly string[]
  readonly title: string
  readonly body: string
  readonly rows: readonly Row[]
}
