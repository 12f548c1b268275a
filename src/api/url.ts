/**
 * The WebSocket URL and the subprotocols to offer, as every client face checks them before it
 * connects (WHATWG "new WebSocket(url, protocols)" steps 1–9, RFC 6455 §3 and §4.1).
 */
import { isToken } from '../handshake/chars.js';
import type { WsErrorClass } from '../shared/errors.js';
import { type FaceErrorFactory, WEB_ERRORS } from './face.js';

/**
 * WHATWG "new WebSocket(url, protocols)" steps 1–9: the URL record and the subprotocols to
 * offer. The base URL is the page's or worker's location where there is one.
 *
 * @throws `SyntaxError` (from `errors`: a DOMException on the web) for an invalid URL, a scheme other than ws, wss, http or
 *   https, a URL with a fragment (RFC 6455 §3), or invalid or repeated subprotocols.
 */
export function parseWebSocketUrl(
  url: string | URL,
  protocols: string | readonly string[] | undefined,
  errors: FaceErrorFactory = WEB_ERRORS,
): { url: URL; protocols: string[] } {
  // ws throws a SyntaxError for each of these as well.
  const syntaxError = (message: string): Error => errors(message, 'SyntaxError', SyntaxError as WsErrorClass);
  // 1–3. Parse url against the base URL; failure → "SyntaxError".
  let record: URL;
  try {
    record = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    throw syntaxError(`invalid URL: ${String(url)}`);
  }
  // 4–5. http → ws, https → wss.
  if (record.protocol === 'http:') record.protocol = 'ws:';
  else if (record.protocol === 'https:') record.protocol = 'wss:';
  // 6. Any other scheme → "SyntaxError".
  if (record.protocol !== 'ws:' && record.protocol !== 'wss:') {
    throw syntaxError(`the URL's scheme must be ws, wss, http or https, not ${record.protocol.slice(0, -1)}`);
  }
  // 7. A fragment → "SyntaxError" (RFC 6455 §3: "Fragment identifiers are meaningless ... MUST NOT be used").
  if (record.hash !== '' || String(url).includes('#')) throw syntaxError('a WebSocket URL cannot have a fragment');
  // 8. A single protocol string is a list of one.
  const offered = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols];
  // 9. Repeated values or values that are not tokens (RFC 6455 §4.1 requirement 10) → "SyntaxError".
  const seen = new Set<string>();
  for (const protocol of offered) {
    if (typeof protocol !== 'string' || !isToken(protocol)) throw syntaxError(`invalid subprotocol ${JSON.stringify(protocol)}`);
    if (seen.has(protocol)) throw syntaxError(`subprotocol ${JSON.stringify(protocol)} is listed twice`);
    seen.add(protocol);
  }
  return { url: record, protocols: offered };
}
