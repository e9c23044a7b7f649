// Decoding protobuf bytes with a clear error for anything that is not a valid message.

import type protobuf from 'protobufjs';
import { error } from '../ir/diagnostics.js';

/**
 * Decode `bytes` as message `type`. The bytes are wrapped in a Node Buffer first: protobufjs
 * then returns bytes fields (raw_data) as views into it, so weights are not copied here.
 */
export function parseProto<T>(type: protobuf.Type, bytes: Uint8Array, file: string | undefined, what: string): T {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return type.decode(buf) as unknown as T;
  } catch (e) {
    const detail = e instanceof Error ? ` (${e.message})` : '';
    throw error(
      'BAD_MODEL',
      `cannot parse ${what === 'ModelProto' ? 'ONNX model' : `ONNX ${what}`} (truncated or not an ONNX file)${detail}`,
      file !== undefined ? { file } : undefined,
      'Check that the file is complete and is an .onnx (or .pb) file.',
    );
  }
}
