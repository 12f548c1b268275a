/**
 * A function with a bug behind four nested byte comparisons, for the fuzzer's own test: each
 * matched byte is a new block, so coverage feedback can find the bug one byte at a time.
 */
import { OracleViolation } from '../../fuzz/targets/types.js';

export function plantedCheck(data: Uint8Array): void {
  if (data[0] === 0x57) {
    if (data[1] === 0xff) {
      if (data[2] === 0x00) {
        if (data[3] === 0x53) throw new OracleViolation('contract', 'the planted bug');
      }
    }
  }
}
