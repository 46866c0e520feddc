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
