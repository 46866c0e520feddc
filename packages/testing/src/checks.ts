import type { LinkConditions } from './link.js'
import type { SimulatedNetworkOptions } from './network-types.js'

interface Bounds {
  /** Whole numbers only. */
  readonly integer?: boolean
  /** Lowest value allowed. */
  readonly min?: number
  /** Values must be greater than this. */
  readonly above?: number
  /** Highest value allowed. */
  readonly max?: number
}

const describe = ({ integer, min, above, max }: Bounds) => {
  const kind = integer ? 'a finite whole number' : 'a finite number'
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`
  if (above !== undefined) return `${kind} greater than ${above}`
  if (min !== undefined) return `${kind} of at least ${min}`
  return kind
}

/**
 * Throws a RangeError naming `name` unless `value` is a finite number within `bounds`. NaN and
 * Infinity are refused everywhere: one of them in virtual time or a clock spoils the whole run.
 */
export const checkNumber = (value: unknown, name: string, bounds: Bounds = {}): number => {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!bounds.integer || Number.isInteger(value)) &&
    (bounds.min === undefined || value >= bounds.min) &&
    (bounds.above === undefined || value > bounds.above) &&
    (bounds.max === undefined || value <= bounds.max)
  if (!ok) throw new RangeError(`${name} must be ${describe(bounds)} (got ${String(value)}).`)
  return value as number
}

/** Throws a RangeError naming the first condition out of its range. */
export const checkConditions = (conditions: LinkConditions, where: string): void => {
  if (typeof conditions !== 'object' || conditions === null) {
    throw new TypeError(`${where}: link conditions must be an object (got ${String(conditions)}).`)
  }
  const { latencyMs, loss, duplicate, reorder, bytesPerSecond } = conditions
  if (Array.isArray(latencyMs)) {
    const [min, max] = latencyMs as readonly unknown[]
    checkNumber(min, `${where}: latencyMs[0]`, { min: 0 })
    checkNumber(max, `${where}: latencyMs[1]`, { min: 0 })
    if (latencyMs.length !== 2 || (min as number) > (max as number)) {
      throw new RangeError(
        `${where}: latencyMs must be [min, max] with min ≤ max (got [${latencyMs.join(', ')}]).`,
      )
    }
  } else if (latencyMs !== undefined) checkNumber(latencyMs, `${where}: latencyMs`, { min: 0 })
  if (loss !== undefined) checkNumber(loss, `${where}: loss`, { min: 0, max: 1 })
  if (duplicate !== undefined) checkNumber(duplicate, `${where}: duplicate`, { min: 0, max: 1 })
  if (reorder !== undefined) checkNumber(reorder, `${where}: reorder`, { integer: true, min: 0 })
  // 0 would hold every frame for ever; leave it out for an unlimited link.
  if (bytesPerSecond !== undefined) checkNumber(bytesPerSecond, `${where}: bytesPerSecond`, { above: 0 })
}

/** Throws a RangeError naming the first option of `createSimulatedNetwork` out of its range. */
export const checkNetworkOptions = (options: SimulatedNetworkOptions) => {
  if (options.seed !== undefined) checkNumber(options.seed, 'createSimulatedNetwork: seed', { integer: true })
  if (options.start !== undefined)
    checkNumber(options.start, 'createSimulatedNetwork: start', { integer: true })
  if (options.heartbeatMs !== undefined) {
    checkNumber(options.heartbeatMs, 'createSimulatedNetwork: heartbeatMs', { above: 0 })
  }
  if (options.reconnectMs !== undefined) {
    checkNumber(options.reconnectMs, 'createSimulatedNetwork: reconnectMs', { min: 0 })
  }
  if (options.link !== undefined) checkConditions(options.link, 'createSimulatedNetwork: link')
}
