/** The binary codecs: messages, durable records, frames. Pure, browser-safe. */
export { DEFAULT_WIRE_LIMITS, Reader, Writer, type WireLimits } from './buffer.js';
export { bytesCommandCodec, jsonCommandCodec, type CommandCodec } from './command-codec.js';
export { WireError, isWireError, type WireErrorCode } from './errors.js';
export {
  DEFAULT_FRAME_BYTES_MAX,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  PROTOCOL_VERSION,
  decodeHandshake,
  encodeFrame,
  encodeHandshake,
  encodeMessageFrame,
  type Frame,
  type Handshake,
} from './frame.js';
export { MESSAGE_TAGS, decodeMessage, encodeMessage, readMessage, writeMessage } from './message.js';
export { RECORD_TAGS, decodeRecord, encodeRecord, readRecord, writeRecord, type RecordKind } from './record.js';
