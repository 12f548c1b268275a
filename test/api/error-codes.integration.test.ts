/**
 * Errors for protocol violations carry ws's WS_ERR_* codes: the same bytes from a raw client
 * to our server and to a ws server give the server-side socket an error with the same code
 * (and our close code is RFC 6455's).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { WebSocketServer as WsServer } from 'ws';
import { ErrorCode, WebSocketServer } from '../../src/node.js';
import { clientFrame, rawConnect, readUntil, Resources, upgradeRequest } from '../adapters/node/helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

const unmasked = (opcode: number, payload: Buffer): Buffer => Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload]);
const withFirstByte = (frame: Buffer, first: number): Buffer => Buffer.concat([Buffer.from([first]), frame.subarray(1)]);

const violations: Array<[name: string, bytes: () => Buffer, code: string]> = [
  ['invalid UTF-8 in a text message', () => clientFrame(0x1, Buffer.from([0xc3, 0x28])), 'WS_ERR_INVALID_UTF8'],
  ['an unmasked client frame', () => unmasked(0x1, Buffer.from('hi')), 'WS_ERR_EXPECTED_MASK'],
  ['a reserved opcode', () => clientFrame(0x3, Buffer.alloc(0)), 'WS_ERR_INVALID_OPCODE'],
  ['a continuation with no message', () => clientFrame(0x0, Buffer.from('x')), 'WS_ERR_INVALID_OPCODE'],
  ['a new message inside a fragmented one', () => Buffer.concat([clientFrame(0x1, Buffer.from('a'), false), clientFrame(0x1, Buffer.from('b'))]), 'WS_ERR_INVALID_OPCODE'],
  ['a fragmented ping', () => clientFrame(0x9, Buffer.alloc(0), false), 'WS_ERR_EXPECTED_FIN'],
  ['a 126-byte ping', () => clientFrame(0x9, Buffer.alloc(126)), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'],
  ['a 1-byte close payload', () => clientFrame(0x8, Buffer.from([3])), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'],
  ['close code 1005 on the wire', () => clientFrame(0x8, Buffer.from([0x03, 0xed])), 'WS_ERR_INVALID_CLOSE_CODE'],
  ['invalid UTF-8 in a close reason', () => clientFrame(0x8, Buffer.from([0x03, 0xe8, 0xff])), 'WS_ERR_INVALID_UTF8'],
  ['RSV1 without permessage-deflate', () => withFirstByte(clientFrame(0x1, Buffer.from('x')), 0xc1), 'WS_ERR_UNEXPECTED_RSV_1'],
  ['a message over maxPayload', () => clientFrame(0x2, Buffer.alloc(2048)), 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'],
];

/** The code of the server-side socket's error after `bytes` arrive. */
async function serverErrorCode(server: { address(): AddressInfo | string | null; on(event: 'connection', listener: (ws: { on(event: 'error', listener: (error: Error & { code?: string }) => void): unknown }) => void): unknown }, bytes: Buffer): Promise<string | undefined> {
  const code = new Promise<string | undefined>((resolve) => server.on('connection', (ws) => ws.on('error', (error) => resolve(error.code))));
  const socket = await rawConnect(resources, (server.address() as AddressInfo).port);
  socket.write(upgradeRequest());
  await readUntil(socket, (received) => received.includes('\r\n\r\n'));
  socket.write(bytes);
  return code;
}

it.each(violations)('%s: %s on our server, as on ws\'s', async (_name, bytes, code) => {
  const ours = resources.track(new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 1024 }));
  const theirs = resources.track(new WsServer({ port: 0, host: '127.0.0.1', maxPayload: 1024 }));
  await Promise.all([once(ours, 'listening'), once(theirs, 'listening')]);
  expect(await serverErrorCode(ours, bytes())).toBe(code);
  expect(await serverErrorCode(theirs as never, bytes())).toBe(code);
});

it('codes ws has none for stay ours', () => {
  expect([ErrorCode.TIMEOUT, ErrorCode.BUFFER_OVERFLOW, ErrorCode.EXTENSION_ERROR, ErrorCode.HANDSHAKE]).toEqual(['WSX_ERR_TIMEOUT', 'WSX_ERR_BUFFER_OVERFLOW', 'WSX_ERR_EXTENSION', 'WSX_ERR_HANDSHAKE']);
});
