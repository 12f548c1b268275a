/**
 * What the Node client makes of its `ws` options before each request: the header fields (the
 * application's, with `Host` and `Origin` it may set as in `ws`, and Basic credentials from
 * the URL or `auth`), what a redirect keeps of them, the options passed through to
 * `http.request`, `ws+unix:` URLs, and the masking keys of `generateMask`.
 */
import type { HeaderField } from '../handshake/http.js';
import { type RandomSource, webCryptoRandom } from '../shared/ports.js';
import type { FaceErrorFactory } from './face.js';
import { parseWebSocketUrl } from './url.js';

/** A client's URL after the checks, with where to connect for `ws+unix:`. */
export interface ClientTarget {
  readonly url: URL;
  readonly protocols: string[];
  /** For `ws+unix:`: the socket's path (the rest of the URL's path is the request's). */
  readonly socketPath: string | undefined;
  /** The resource name to request (`/path?query`). */
  readonly path: string;
}

/**
 * The WHATWG checks of a client URL (`parseWebSocketUrl`), and `ws`'s `ws+unix:` URLs:
 * `ws+unix:/path/to/socket:/resource?query` connects to the Unix domain socket (or Windows
 * named pipe) and requests `/resource?query` (`/` when there is no `:`).
 *
 * @throws `SyntaxError` (from `errors`) as `parseWebSocketUrl`, and for a `ws+unix:` URL
 *   without a socket path or with a fragment.
 */
export function parseClientUrl(url: string | URL, protocols: string | readonly string[] | undefined, errors: FaceErrorFactory): ClientTarget {
  let unix: URL | null = null;
  try {
    const record = new URL(url);
    if (record.protocol === 'ws+unix:') unix = record;
  } catch {
    // Not absolute: parseWebSocketUrl reports it.
  }
  if (unix === null) {
    const target = parseWebSocketUrl(url, protocols, errors);
    return { ...target, socketPath: undefined, path: `${target.url.pathname}${target.url.search}` };
  }
  if (unix.hash !== '' || String(url).includes('#')) throw errors('a WebSocket URL cannot have a fragment', 'SyntaxError', SyntaxError);
  const full = `${unix.pathname}${unix.search}`;
  const colon = full.indexOf(':');
  const socketPath = colon === -1 ? full : full.slice(0, colon);
  if (socketPath === '') throw errors('a ws+unix: URL needs the path of the socket', 'SyntaxError', SyntaxError);
  const rest = colon === -1 ? '' : full.slice(colon + 1);
  // The subprotocols get the same checks as for any other URL.
  const { protocols: offered } = parseWebSocketUrl('ws://localhost/', protocols, errors);
  return { url: unix, protocols: offered, socketPath, path: rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}` };
}

/** The application's header fields, in order. */
export function headerFields(headers: Readonly<Record<string, string | number | readonly string[]>> | Iterable<HeaderField> | undefined): HeaderField[] {
  if (headers === undefined || headers === null) return [];
  if (Symbol.iterator in headers) return [...(headers as Iterable<HeaderField>)];
  const fields: HeaderField[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) fields.push([name, String(item)]);
    else fields.push([name, String(value)]);
  }
  return fields;
}

const named = (name: string) => ([field]: HeaderField): boolean => field.toLowerCase() === name;

/** What the request carries, split as the core takes it. */
export interface RequestHeaders {
  /** The Host header's name and port, when the application set one (`ws` lets it). */
  readonly host: { readonly name: string; readonly port: number | undefined } | undefined;
  /** The Origin header: the `origin` option, else the application's Origin field. */
  readonly origin: string | undefined;
  /** Every other field, Authorization added for credentials. */
  readonly fields: HeaderField[];
}

/** `host[:port]` of a Host header value (IPv6 in brackets). */
function splitHost(value: string): { name: string; port: number | undefined } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(value.trim());
  if (match === null) return { name: value, port: undefined };
  return { name: match[1]!, port: match[2] === undefined ? undefined : Number(match[2]) };
}

/**
 * The header fields of a request: the application's, with its Host and Origin taken out for
 * the core (which writes them), and `Authorization: Basic` for `credentials` (`user:password`,
 * from the URL or `auth`) unless an Authorization field is there already (it wins, as with
 * `http.request`'s `auth`).
 */
export function requestHeaders(fields: readonly HeaderField[], origin: string | undefined, credentials: string | undefined): RequestHeaders {
  const rest = fields.filter((field) => !named('host')(field) && !named('origin')(field));
  const host = fields.find(named('host'));
  const ownOrigin = fields.find(named('origin'));
  if (credentials !== undefined && !rest.some(named('authorization'))) {
    rest.push(['Authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`]);
  }
  return { host: host === undefined ? undefined : splitHost(host[1]), origin: origin ?? ownOrigin?.[1], fields: rest };
}

/** The `user:password` of a URL's user info (percent-decoded), if it has any. */
export function urlCredentials(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  return `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
}

/** `url` without its user info. */
export function withoutCredentials(url: URL): URL {
  if (url.username === '' && url.password === '') return url;
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  return copy;
}

/** Where a redirect chain started: credentials and cookies go only back there. */
export interface RedirectOrigin {
  readonly unix: boolean;
  readonly secure: boolean;
  /** `host:port`, or the socket path for `ws+unix:`. */
  readonly hostOrSocketPath: string;
}

export function redirectOriginOf(target: ClientTarget): RedirectOrigin {
  return { unix: target.socketPath !== undefined, secure: target.url.protocol === 'wss:', hostOrSocketPath: target.socketPath ?? target.url.host };
}

/**
 * Whether a redirect to `next` leaves the origin the chain started at — another host (or
 * socket), or from `wss:` down to `ws:` — so that, as in `ws` (which follows curl), the
 * Authorization and Cookie fields and the credentials are dropped (and Host, for another host).
 */
export function leavesOrigin(origin: RedirectOrigin, next: ClientTarget): { crossOrigin: boolean; otherHost: boolean } {
  const unix = next.socketPath !== undefined;
  const sameHost = unix === origin.unix && (next.socketPath ?? next.url.host) === origin.hostOrSocketPath;
  return { crossOrigin: !sameHost || (origin.secure && next.url.protocol !== 'wss:'), otherHost: !sameHost };
}

/** The application's fields for a redirect that leaves the origin. */
export function fieldsForOtherOrigin(fields: readonly HeaderField[], otherHost: boolean): HeaderField[] {
  return fields.filter((field) => !named('authorization')(field) && !named('cookie')(field) && !(otherHost && named('host')(field)));
}

/**
 * The random source of a client with `ws`'s `generateMask`: the opening handshake's key still
 * comes from the strong source (it must be unpredictable, RFC 6455 §4.1), and every masking
 * key after it from `generateMask`, called with each key's 4 bytes to fill. (RFC 6455 §5.3
 * wants masking keys from a strong source of entropy: `generateMask` is for harnesses that
 * know what they trade, as in `ws`.)
 */
export function maskingRandom(generateMask: (mask: Buffer) => void): { random: RandomSource; handshakeKeyTaken(): void } {
  let masking = false;
  return {
    random(target: Uint8Array): void {
      if (!masking) {
        webCryptoRandom(target);
        return;
      }
      for (let offset = 0; offset + 4 <= target.length; offset += 4) generateMask(Buffer.from(target.buffer, target.byteOffset + offset, 4));
    },
    handshakeKeyTaken(): void {
      masking = true;
    },
  };
}

/** Options of the client that are its own, not `http.request`'s. */
const OWN_OPTIONS = new Set([
  'http2',
  'headers',
  'origin',
  'handshakeTimeout',
  'extensions',
  'perMessageDeflate',
  'maxPayload',
  'autoPong',
  'streamMessages',
  'codec',
  'closeTimeout',
  'heartbeat',
  'idleTimeout',
  'highWaterMark',
  'maxBufferedAmount',
  'onBufferOverflow',
  'followRedirects',
  'maxRedirects',
  'finishRequest',
  'generateMask',
  'protocolVersion',
  'auth',
  'signal',
  'skipUTF8Validation',
  'allowSynchronousEvents',
  'maxBufferedChunks',
  'maxFragments',
]);

/** The options passed through to `http.request` / `https.request` and the connection it opens, as `ws` passes them. */
export function requestOptions(options: object): Record<string, unknown> {
  const passed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) if (!OWN_OPTIONS.has(name)) passed[name] = value;
  return passed;
}
