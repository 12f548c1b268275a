/**
 * The descriptor table's own contract (src/codec/types.ts): its size is fixed at construction,
 * and its accessors decode each row exactly as documented, whichever codec wrote it.
 */
import { describe, expect, it } from 'vitest';
import {
  FRAME_HEADER_LENGTH,
  FRAME_HEADER_OFFSET,
  FRAME_INFO,
  FRAME_PAYLOAD_LENGTH,
  FRAME_ROW_FIELDS,
  FrameTable,
  frameHeaderLength,
} from '../../src/codec/types.js';
import { toHex } from '../../src/shared/bytes.js';

describe('FrameTable', () => {
  it('holds `capacity` rows plus one for a partial frame, 1024 by default', () => {
    const table = new FrameTable(3);
    expect(table.capacity).toBe(3);
    expect(table.rows.length).toBe(4 * FRAME_ROW_FIELDS);
    expect(table.maskKeys.length).toBe(4 * 4);
    expect(new FrameTable().capacity).toBe(1024);
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      expect(() => new FrameTable(capacity), String(capacity)).toThrow(new RangeError('capacity must be a positive integer'));
    }
  });

  it('decodes FIN, RSV, opcode and MASK from the info field, and locates header and payload', () => {
    const table = new FrameTable(2);
    const row = 1;
    const base = row * FRAME_ROW_FIELDS;
    // A masked, non-final continuation with RSV2 set, its header at 10, 6 bytes long, 3 bytes of payload.
    table.rows[base + FRAME_INFO] = (0 << 7) | (0b010 << 4) | 0x0 | (1 << 8);
    table.rows[base + FRAME_HEADER_OFFSET] = 10;
    table.rows[base + FRAME_HEADER_LENGTH] = 6;
    table.rows[base + FRAME_PAYLOAD_LENGTH] = 3;
    table.maskKeys.set([1, 2, 3, 4], row * 4);
    table.data = Uint8Array.from({ length: 24 }, (_, i) => i);
    expect([table.fin(row), table.rsv(row), table.opcode(row), table.masked(row)]).toEqual([false, 0b010, 0x0, true]);
    expect([table.headerOffset(row), table.headerLength(row), table.payloadOffset(row), table.payloadLength(row)]).toEqual([10, 6, 16, 3]);
    expect(toHex(table.maskKey(row))).toBe('01020304');
    expect(toHex(table.payload(row))).toBe('101112');

    // A final, unmasked close frame with every RSV bit: the other value of each flag.
    table.rows[FRAME_INFO] = (1 << 7) | (0b111 << 4) | 0x8;
    expect([table.fin(0), table.rsv(0), table.opcode(0), table.masked(0)]).toEqual([true, 0b111, 0x8, false]);
  });

  it('maskKey and payload are views, not copies', () => {
    const table = new FrameTable(1);
    table.data = new Uint8Array(8);
    table.rows[FRAME_HEADER_LENGTH] = 2;
    table.rows[FRAME_PAYLOAD_LENGTH] = 4;
    table.payload(0)[0] = 0xaa;
    table.maskKey(0)[3] = 0xbb;
    expect(table.data[2]).toBe(0xaa);
    expect(table.maskKeys[3]).toBe(0xbb);
  });
});

describe('frameHeaderLength', () => {
  it('§5.2 is 2, 4 or 10 bytes by the length encoding, plus 4 for a mask key', () => {
    const cases = [[0, 2], [125, 2], [126, 4], [65535, 4], [65536, 10], [Number.MAX_SAFE_INTEGER, 10]] as const;
    for (const [payloadLength, unmasked] of cases) {
      expect(frameHeaderLength(payloadLength, false), String(payloadLength)).toBe(unmasked);
      expect(frameHeaderLength(payloadLength, true), String(payloadLength)).toBe(unmasked + 4);
    }
  });
});
