import { appendPart } from './append-part.js'
import { linkPart } from './link-part.js'
import { openPart } from './open-part.js'
import type { Part } from './rows.js'
import { sizesPart } from './sizes-part.js'

/**
 * Every part of the bench, in the order RESULTS.md shows them. A part measures Tidings and its
 * peers in the same run and returns its table and rows; `BENCH_ONLY=name,name` runs some of them.
 */
export const PARTS: readonly Part[] = [appendPart, openPart, sizesPart, linkPart]
