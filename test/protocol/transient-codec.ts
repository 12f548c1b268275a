/**
 * A codec with the memory model of the wasm codec, built on any other: `parseFrames` works on
 * a copy of the chunk in its own buffer (`table.transient`), leaves the caller's chunk masked,
 * and every later call scribbles over that buffer (offsets start past a gap, too). A caller that keeps a view of transient
 * data instead of copying it reads garbage — which the protocol tests would catch.
 */
import { type Codec, FRAME_HEADER_OFFSET, FRAME_ROW_FIELDS } from '../../src/codec/types.js';

/** Where the chunk starts in the private buffer (non-zero, so offsets must be translated). */
const DATA_OFFSET = 24;

export function transientCodec(base: Codec): Codec {
  let memory = new Uint8Array(4096);
  const scribble = (): void => {
    memory.fill(0xee);
  };
  return {
    implementation: base.implementation,
    mask: (data, key, phase) => {
      scribble();
      return base.mask(data, key, phase);
    },
    maskInto: (source, key, target, offset, phase) => {
      scribble();
      return base.maskInto(source, key, target, offset, phase);
    },
    validateUtf8: (data) => {
      scribble();
      return base.validateUtf8(data);
    },
    utf8Step: (data, state) => {
      scribble();
      return base.utf8Step(data, state);
    },
    encodeHeader: (target, offset, fin, rsv, opcode, length, key) => base.encodeHeader(target, offset, fin, rsv, opcode, length, key),
    parseFrames(chunk, table, options, state) {
      scribble();
      if (memory.length < DATA_OFFSET + chunk.length) memory = new Uint8Array(DATA_OFFSET + chunk.length);
      memory.fill(0xee);
      const view = memory.subarray(DATA_OFFSET, DATA_OFFSET + chunk.length);
      view.set(chunk);
      base.parseFrames(view, table, options, state);
      // A base codec with memory of its own (wasm) reports offsets into it: bring its bytes
      // over, so the table describes this buffer either way.
      const shift = table.transient ? DATA_OFFSET - table.dataOffset : DATA_OFFSET;
      if (table.transient) view.set(table.data.subarray(table.dataOffset, table.dataOffset + chunk.length));
      const rows = table.count + (table.partialHeader ? 1 : 0);
      for (let row = 0; row < rows; row++) table.rows[row * FRAME_ROW_FIELDS + FRAME_HEADER_OFFSET]! += shift;
      table.data = memory;
      table.dataOffset = DATA_OFFSET;
      table.transient = true;
    },
  };
}
