/**
 * The Node floor (`floor.ts`) in a process of its own on 127.0.0.1 and a free port, for the
 * end-to-end benchmark: every request says the size and type of the frames it will send
 * (`?size=N&type=binary|text`).
 *
 *   tsx bench/e2e/servers/floor-server.ts [--write-per-read]
 *
 * `--write-per-read`: one write per read carrying every reply it asked for, rather than a
 * write per reply (`FloorWrites`).
 *
 * It talks to the runner as the echo servers do (`control.ts`).
 */
import type { AddressInfo } from 'node:net';
import { failToStart, serveRunner } from './control.js';
import { createFloorServer } from './floor.js';

async function main(): Promise<void> {
  // Requests from the runner always carry their size and type; these only answer one that does not.
  const writes = process.argv.includes('--write-per-read') ? 'batch' : 'frame';
  const server = createFloorServer({ size: 16, type: 'binary' }, { connections: 0, frames: 0 }, writes);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  serveRunner((server.address() as AddressInfo).port, 'floor');
}

main().catch(failToStart);
