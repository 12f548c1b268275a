/**
 * A listener that throws in a process with no 'uncaughtException' handler: the exception is
 * reported on stderr and the process — the server and its connections — keeps running.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { WebSocket } from '../../src/node.js';
import { openClient, Resources } from '../adapters/node/helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

it("a throwing 'message' listener does not take down a server that has no uncaughtException handler", async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/throwing-listener-server.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  child.once('exit', () => (exited = true));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const { port } = JSON.parse(line.toString()) as { port: number };
    const client = await openClient(resources, `ws://127.0.0.1:${port}`);
    const echo = (text: string) =>
      new Promise<string>((resolve) => {
        client.once('message', (data: Buffer) => resolve(data.toString()));
        client.send(text);
      });
    client.send('boom');
    await expect.poll(() => stderr, { timeout: 10_000 }).toContain('message listener failed');
    expect(await echo('still here')).toBe('still here');
    expect(client.readyState).toBe(WebSocket.OPEN);
    expect(exited).toBe(false);
  } finally {
    child.kill('SIGTERM');
  }
});
