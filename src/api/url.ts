/**
 * The WebSocket URL and the subprotocols to offer, as every client face checks them before it
 * connects (WHATWG "new WebSocket(url, protocols)" steps 1–9, RFC 6455 §3 and §4.1).
 */
import { isToken } from '../handshake/chars.js';
import { domException } from './face.js';

/**
 * WHATWG "new WebSocket(url, protocols)" steps 1–9: the URL record and the subprotocols to
 * offer. The base URL is the page's or worker's location where there is one.
 *
 * @throws DOMException `SyntaxError` for an invalid URL, a scheme other than ws, wss, http or
 *   https, a URL with a fragment (RFC 6455 §3), or invalid or repeated subprotocols.
 */
export function parseWebSocketUrl(url: string | URL, protocols: string | readonly string[] | undefined): { url: URL; protocols: string[] } {
  // 1–3. Parse url against the base URL; failure → "SyntaxError".
  let record: URL;
  try {
    record = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    throw domException(`invalid URL: ${String(url)}`, 'SyntaxError');
  }
  // 4–5. http → ws, https → wss.
  if (record.protocol === 'http:') record.protocol = 'ws:';
  else if (record.protocol === 'https:') record.protocol = 'wss:';
  // 6. Any other scheme → "SyntaxError".
  if (record.protocol !== 'ws:' && record.protocol !== 'wss:') {
    throw domException(`the URL's scheme must be ws, wss, http or https, not ${record.protocol.slice(0, -1)}`, 'SyntaxError');
  }
  // 7. A fragment → "SyntaxError" (RFC 6455 §3: "Fragment identifiers are meaningless ... MUST NOT be used").
  if (record.hash !== '' || String(url).includes('#')) throw domException('a WebSocket URL cannot have a fragment', 'SyntaxError');
  // 8. A single protocol string is a list of one.
  const offered = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols];
  // 9. Repeated values or values that are not tokens (RFC 6455 §4.1 requirement 10) → "SyntaxError".
  const seen = new Set<string>();
  for (const protocol of offered) {
    if (typeof protocol !== 'string' || !isToken(protocol)) throw domException(`invalid subprotocol ${JSON.stringify(protocol)}`, 'SyntaxError');
    if (seen.has(protocol)) throw domException(`subprotocol ${JSON.stringify(protocol)} is listed twice`, 'SyntaxError');
    seen.add(protocol);
  }
  return { url: record, protocols: offered };
}
