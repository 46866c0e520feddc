import { appendPart } from './append-part.js'
import { fanoutPart } from './fanout-part.js'
import { heapPart } from './heap-part.js'
import { indexeddbPart } from './indexeddb-part.js'
import { joinPart } from './join-part.js'
import { linkPart } from './link-part.js'
import { openPart } from './open-part.js'
import type { Part } from './rows.js'
import { sizesPart } from './sizes-part.js'
import { sqliteFullPart } from './sqlite-full-part.js'
import { stallPart } from './stall-part.js'
import { wirePart } from './wire-part.js'

/**
 * Every part of the bench, in the order RESULTS.md shows them. A part measures Tidings and its
 * peers in the same run and returns its table and rows; `BENCH_ONLY=name,name` runs some of them.
 */
export const PARTS: readonly Part[] = [
  appendPart,
  sqliteFullPart,
  stallPart,
  openPart,
  sizesPart,
  wirePart,
  heapPart,
  linkPart,
  joinPart,
  fanoutPart,
  indexeddbPart,
]
