import { fileURLToPath } from 'node:url'
import { writeResults } from './results.js'
import { mergeLatest, readLatest, reportOf, runParts, writeLatest } from './run.js'
import { log } from './workload.js'

// `npm run bench`: runs every part (or BENCH_ONLY=a,b), prints each table, merges the rows into
// bench/results/latest.json and rewrites RESULTS.md from it. BENCH_SMOKE=1 runs the tiny sizes of
// `npm test` and writes RESULTS.md nowhere: only its latest.json, to BENCH_OUT when set.
const smoke = process.env.BENCH_SMOKE === '1'
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)

const records = await runParts({ smoke, only })
for (const record of records) process.stdout.write(`\n## ${record.title}\n\n${record.body}\n`)
if (smoke) {
  const out = process.env.BENCH_OUT
  if (out) writeLatest(out, mergeLatest(undefined, records))
  log(`BENCH_SMOKE=1: RESULTS.md left as it was${out ? `, rows written to ${out}` : ''}`)
} else {
  const latestPath = fileURLToPath(new URL('./results/latest.json', import.meta.url))
  const latest = mergeLatest(readLatest(latestPath), records)
  writeLatest(latestPath, latest)
  const resultsPath = fileURLToPath(new URL('./RESULTS.md', import.meta.url))
  writeResults(resultsPath, reportOf(latest))
  log(`wrote ${latestPath} and ${resultsPath}`)
}
