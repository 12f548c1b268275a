/**
 * The real-peer subset every supported runtime passes, with the packed package installed in a
 * scratch project (test/package/packed.ts): under the runtime, a server and a client talk to
 * each other, then the runtime's server talks to a Node `ws` client and the runtime's client
 * to a Node `ws` server. Each conversation: text, binary, a large message compressed with
 * permessage-deflate, a close with a code and a reason; with the wasm codec, and again with
 * the portable one (WASMSOCKET_NO_WASM=1). Loopback only; every process is bounded in time.
 */
import { once } from 'node:events';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { packedPackage, PACK_TIMEOUT_MS } from '../package/packed.js';
import { atLeast, installPeer, runPeer } from './runtimes.js';

export interface RuntimeSpec {
  readonly name: string;
  /** The binary and its version, or undefined where none is installed for this platform. */
  readonly binary: { path: string; version: string } | undefined;
  /** The oldest version the README promises. */
  readonly minimum: string;
  /** The command line that runs `script` with `args`. */
  readonly command: (script: string, args: readonly string[]) => string[];
  /** Extra environment for the runtime. */
  readonly env?: (project: string) => NodeJS.ProcessEnv;
}

const LARGE = 'compressible text '.repeat(4096);
const CLIENT_CLOSE = { code: 4001, reason: 'bye from the client' };

/** What every client conversation gets back, whoever the server is. */
const CONVERSATION = {
  extensions: expect.stringMatching(/^permessage-deflate\b/),
  text: { data: 'héllo, wörld', isBinary: false },
  binary: { data: [0, 1, 2, 127, 128, 255], isBinary: true },
  large: { same: true, length: LARGE.length },
  close: { code: CLIENT_CLOSE.code, reason: expect.any(String) },
};
const SERVER_SIDE = { extensions: expect.stringMatching(/^permessage-deflate\b/), close: CLIENT_CLOSE };

/** The same conversation from Node, with `ws`, against a server under the runtime. */
async function converseWithWs(url: string): Promise<unknown> {
  const ws = new WebSocket(url, { perMessageDeflate: true });
  await once(ws, 'open');
  const next = async (): Promise<{ data: Buffer; isBinary: boolean }> => {
    const [data, isBinary] = (await once(ws, 'message')) as [RawData, boolean];
    return { data: data as Buffer, isBinary };
  };
  const result: Record<string, unknown> = { extensions: ws.extensions };
  ws.send('héllo, wörld');
  const text = await next();
  result.text = { data: text.data.toString(), isBinary: text.isBinary };
  ws.send(Uint8Array.from([0, 1, 2, 127, 128, 255]));
  const binary = await next();
  result.binary = { data: [...binary.data], isBinary: binary.isBinary };
  ws.send(LARGE);
  const large = await next();
  result.large = { same: large.data.toString() === LARGE, length: large.data.length };
  const closed = once(ws, 'close');
  ws.close(CLIENT_CLOSE.code, CLIENT_CLOSE.reason);
  const [code, reason] = (await closed) as [number, Buffer];
  result.close = { code, reason: reason.toString() };
  return result;
}

export function describeRuntime(spec: RuntimeSpec): void {
  // CI has every runtime (they are dev dependencies for its platform): missing there is a failure.
  const missing = spec.binary === undefined;
  if (missing && process.env.CI) {
    it(`${spec.name} is installed`, () => {
      expect.fail(`no ${spec.name} binary under node_modules for ${process.platform}-${process.arch}`);
    });
    return;
  }

  describe.skipIf(missing)(`${spec.name} ${spec.binary?.version ?? '(not installed for this platform)'}`, () => {
    let project: string;
    let script: string;
    beforeAll(async () => {
      project = (await packedPackage()).project;
      script = await installPeer(project);
    }, PACK_TIMEOUT_MS + 30_000);

    const run = (args: readonly string[], env: NodeJS.ProcessEnv) => {
      const [command, ...rest] = spec.command(script, args);
      return runPeer(command!, rest, project, { ...spec.env?.(project), ...env });
    };

    it(`is at least version ${spec.minimum}`, () => {
      expect(atLeast(spec.binary!.version, spec.minimum), spec.binary!.version).toBe(true);
    });

    for (const [codec, env] of [['wasm', {}], ['portable', { WASMSOCKET_NO_WASM: '1' }]] as const) {
      describe(`with the ${codec} codec`, () => {
        it(`server and client under ${spec.name}: text, binary, permessage-deflate, close with code and reason`, async () => {
          const [result] = await run(['self'], env).done;
          expect(result).toEqual({ codec, client: CONVERSATION, server: SERVER_SIDE });
          // The client saw the server's echo of its close (RFC 6455 §5.5.1).
          expect((result as { client: { close: unknown } }).client.close).toEqual(CLIENT_CLOSE);
        }, 40_000);

        it(`a server under ${spec.name}, a Node ws client`, async () => {
          const peer = run(['server'], env);
          try {
            const { port } = (await peer.first) as { port: number };
            const client = await converseWithWs(`ws://127.0.0.1:${port}/`);
            const [, result] = await peer.done;
            expect(client).toEqual(CONVERSATION);
            expect(result).toEqual({ codec, server: SERVER_SIDE });
          } finally {
            peer.kill();
          }
        }, 40_000);

        it(`a client under ${spec.name}, a Node ws server`, async () => {
          const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
          await once(wss, 'listening');
          const serverSide = new Promise<unknown>((resolve) => {
            wss.once('connection', (socket) => {
              const extensions = socket.extensions;
              socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
              socket.once('close', (code, reason) => resolve({ extensions, close: { code, reason: reason.toString() } }));
            });
          });
          try {
            const { port } = wss.address() as { port: number };
            const [result] = await run(['client', `ws://127.0.0.1:${port}/`], env).done;
            expect(result).toEqual({ codec, client: CONVERSATION });
            expect(await serverSide).toEqual(SERVER_SIDE);
          } finally {
            for (const client of wss.clients) client.terminate();
            wss.close();
          }
        }, 40_000);
      });
    }
  });
}
