import type { LinkResult, LinkTask } from './link-net.js'
import { stockLinkRep } from './link-stock.js'
import { tidingsLinkRep } from './link-tidings.js'

/** Runs one rep of the `link` part in this (fresh) process. */
export const linkRep = (task: LinkTask): Promise<LinkResult> =>
  task.peer === 'tidings' ? tidingsLinkRep(task) : stockLinkRep(task)
