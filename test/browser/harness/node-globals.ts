/**
 * The one Node global the conformance suites use outside Node: `Buffer.from(bytes)` to show
 * bytes as hex or text (`toString('hex' | 'utf8')`). Installed, only where there is no
 * `Buffer`, before the suites load in a worker.
 */
import { toHex } from '../../../src/shared/bytes.js';

interface BytesAsText {
  toString(encoding?: string): string;
}

if (!('Buffer' in globalThis)) {
  const decoder = new TextDecoder();
  Object.defineProperty(globalThis, 'Buffer', {
    configurable: true,
    value: {
      from(data: ArrayLike<number> | ArrayBufferLike): BytesAsText {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : Uint8Array.from(data as ArrayLike<number>);
        return {
          toString: (encoding = 'utf8') => {
            if (encoding === 'hex') return toHex(bytes);
            if (encoding === 'utf8' || encoding === 'utf-8') return decoder.decode(bytes);
            throw new Error(`Buffer stand-in: no ${encoding} encoding`);
          },
        };
      },
    },
  });
}
