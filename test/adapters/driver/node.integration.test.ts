/**
 * The driver contract over the Node binding: a wasmsocket server and clients, and raw peers,
 * on real TCP sockets on 127.0.0.1 (permessage-deflate through node:zlib).
 */
import { describe } from 'vitest';
import { defineDriverContract } from './contract.js';
import { nodeEnvironment } from './node-environment.js';

describe('the driver contract over Node sockets', () => {
  defineDriverContract(nodeEnvironment);
});
