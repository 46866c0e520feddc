export type { Fanout, FanoutSink } from './fanout.js'
export {
  decodeFrame,
  encodeFrame,
  type Frame,
  type FrameOf,
  FrameType,
  MAX_FRAME_BYTES,
  MalformedFrameError,
  type ManifestChange,
} from './frames.js'
