/**
 * The grammar of the handshake's list-valued header fields: token lists (Connection, Upgrade,
 * Sec-WebSocket-Protocol, RFC 7230 §7 `#rule`) and Sec-WebSocket-Extensions (RFC 6455 §9.1).
 *
 * Every parser is one left-to-right scan over char codes that never moves backwards, so its
 * cost is linear in the input whatever the input is (long runs of commas, quotes, backslashes
 * or spaces included). Empty list elements are skipped, as RFC 7230 §7 asks of recipients.
 *
 * Parse errors are `HandshakeError`s with status 400, the answer a server gives a malformed
 * request; the client side re-labels them with the status of the response it was reading.
 */

import { HandshakeError, InvalidArgumentError } from '../shared/errors.js';
import { CHAR_CLASS, FIELD_CHAR, isToken, QDTEXT, quoteForMessage, TCHAR, WSP } from './chars.js';

const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const SLASH = 0x2f;

/**
 * Extension parameters in the order they were written; a parameter without a value is `true`.
 * An array rather than a map so that a negotiator can see (and reject) a repeated parameter,
 * which RFC 7692 §7 requires of permessage-deflate.
 */
export type ExtensionParams = ReadonlyArray<readonly [name: string, value: string | true]>;

/** One element of a Sec-WebSocket-Extensions list: an extension name and its parameters. */
export interface ExtensionOffer {
  readonly name: string;
  readonly params: ExtensionParams;
}

/** A cursor over one header value. Private to this module. */
class Scanner {
  readonly text: string;
  readonly field: string;
  index = 0;

  constructor(text: string, field: string) {
    this.text = text;
    this.field = field;
  }

  get done(): boolean {
    return this.index >= this.text.length;
  }

  peek(): number {
    return this.text.charCodeAt(this.index);
  }

  skipWhitespace(): void {
    while (this.index < this.text.length && (classOf(this.text.charCodeAt(this.index)) & WSP) !== 0) this.index++;
  }

  /** Skip whitespace and empty list elements; true if an element follows. */
  nextElement(): boolean {
    while (this.index < this.text.length) {
      const c = this.text.charCodeAt(this.index);
      if (c !== COMMA && (classOf(c) & WSP) === 0) return true;
      this.index++;
    }
    return false;
  }

  /** After an element: optional whitespace, then a comma or the end. */
  endElement(): void {
    this.skipWhitespace();
    if (!this.done && this.peek() !== COMMA) throw this.error(`unexpected ${this.describeHere()}`);
  }

  /** Read a token (`what` names it in the error when there is none). */
  token(what: string): string {
    const start = this.index;
    while (this.index < this.text.length && (classOf(this.text.charCodeAt(this.index)) & TCHAR) !== 0) this.index++;
    if (this.index === start) throw this.error(`expected ${what}, found ${this.describeHere()}`);
    return this.text.slice(start, this.index);
  }

  /** Read a quoted-string (RFC 7230 §3.2.6) starting at the DQUOTE; returns it unescaped. */
  quotedString(): string {
    this.index++; // opening DQUOTE
    let out = '';
    let runStart = this.index;
    while (this.index < this.text.length) {
      const c = this.text.charCodeAt(this.index);
      if (c === DQUOTE) {
        out += this.text.slice(runStart, this.index);
        this.index++;
        return out;
      }
      if (c === BACKSLASH) {
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        out += this.text.slice(runStart, this.index);
        // (charCodeAt past the end is NaN, which has no class.)
        if ((classOf(this.text.charCodeAt(this.index + 1)) & FIELD_CHAR) === 0) {
          throw this.error(this.index + 1 >= this.text.length ? 'unterminated quoted string' : 'invalid escape in a quoted string');
        }
        out += this.text[this.index + 1];
        this.index += 2;
        runStart = this.index;
        continue;
      }
      if ((classOf(c) & QDTEXT) === 0) throw this.error(`invalid ${describeChar(c)} in a quoted string`);
      this.index++;
    }
    throw this.error('unterminated quoted string');
  }

  describeHere(): string {
    return this.done ? 'end of value' : describeChar(this.peek());
  }

  error(message: string): HandshakeError {
    return new HandshakeError(`invalid ${this.field} header: ${message}`, 400);
  }
}

function classOf(code: number): number {
  return code < 256 ? CHAR_CLASS[code]! : 0; // NaN (past the end) fails the comparison too
}

function describeChar(code: number): string {
  if (code >= 0x21 && code <= 0x7e) return `"${String.fromCharCode(code)}"`;
  return `character 0x${code.toString(16).padStart(2, '0')}`;
}

/**
 * Parse `1#element` (RFC 7230 §7): `readElement` reads one element at the cursor; between
 * elements only whitespace and commas may stand, and empty elements are skipped.
 */
function parseList<T>(value: string, field: string, readElement: (scanner: Scanner) => T): T[] {
  const scanner = new Scanner(value, field);
  const elements: T[] = [];
  while (scanner.nextElement()) {
    elements.push(readElement(scanner));
    scanner.endElement();
  }
  if (elements.length === 0) throw scanner.error('empty list');
  return elements;
}

/**
 * Parse a comma-separated list of tokens (RFC 7230 §7 `1#token`, e.g. Connection,
 * Sec-WebSocket-Protocol). Empty elements are skipped; at least one token is required.
 *
 * @param field the header name, for error messages.
 * @throws HandshakeError (400) if an element is not a token or the list is empty.
 */
export function parseTokenList(value: string, field: string): string[] {
  return parseList(value, field, (scanner) => scanner.token('a token'));
}

/**
 * Parse an Upgrade header (RFC 7230 §6.7: `1#protocol`, `protocol = protocol-name ["/"
 * protocol-version]`), returning each protocol as written (e.g. `websocket`, `h2c`, `foo/2`).
 *
 * @throws HandshakeError (400) if an element is malformed or the list is empty.
 */
export function parseUpgradeList(value: string): string[] {
  return parseList(value, 'Upgrade', (scanner) => {
    const name = scanner.token('a protocol name');
    if (scanner.done || scanner.peek() !== SLASH) return name;
    scanner.index++;
    return `${name}/${scanner.token('a protocol version')}`;
  });
}

/**
 * Parse Sec-WebSocket-Protocol as a client sends it: one or more subprotocol tokens, no
 * repeats (RFC 6455 §4.1 client requirement 10: "unique strings"; §11.3.4).
 *
 * @throws HandshakeError (400) if an element is not a token, a name repeats, or the list is empty.
 */
export function parseSubprotocolList(value: string): string[] {
  const protocols = parseTokenList(value, 'Sec-WebSocket-Protocol');
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (seen.has(protocol)) {
      throw new HandshakeError(`invalid Sec-WebSocket-Protocol header: subprotocol ${quoteForMessage(protocol)} offered twice`, 400);
    }
    seen.add(protocol);
  }
  return protocols;
}

/**
 * Parse a Sec-WebSocket-Extensions value (RFC 6455 §9.1):
 *
 * ```
 * extension-list  = 1#extension
 * extension       = extension-token *( ";" extension-param )
 * extension-param = token [ "=" (token | quoted-string) ]
 * ```
 * "When using the quoted-string syntax variant, the value after quoted-string unescaping MUST
 * conform to the 'token' ABNF." Whitespace is allowed around `;`, `=` and `,` (OWS/BWS,
 * RFC 7230 §3.2.3).
 *
 * @throws HandshakeError (400) with the reason, if the value does not match the grammar.
 */
export function parseExtensionList(value: string): ExtensionOffer[] {
  return parseList(value, 'Sec-WebSocket-Extensions', (scanner) => {
    const name = scanner.token('an extension name');
    const params: Array<readonly [string, string | true]> = [];
    scanner.skipWhitespace();
    while (!scanner.done && scanner.peek() === SEMICOLON) {
      scanner.index++;
      scanner.skipWhitespace();
      const paramName = scanner.token('a parameter name');
      scanner.skipWhitespace();
      if (!scanner.done && scanner.peek() === EQUALS) {
        scanner.index++;
        scanner.skipWhitespace();
        if (!scanner.done && scanner.peek() === DQUOTE) {
          const unescaped = scanner.quotedString();
          if (!isToken(unescaped)) {
            throw scanner.error(`the quoted value of parameter ${paramName} is not a token (RFC 6455 §9.1)`);
          }
          params.push([paramName, unescaped]);
        } else {
          params.push([paramName, scanner.token(`a value for parameter ${paramName}`)]);
        }
        scanner.skipWhitespace();
      } else {
        params.push([paramName, true]);
      }
    }
    return { name, params };
  });
}

/**
 * Serialize extension offers or responses for Sec-WebSocket-Extensions, e.g.
 * `permessage-deflate; client_max_window_bits, permessage-deflate`.
 *
 * @throws InvalidArgumentError if a name, parameter name or parameter value is not a token
 *   (RFC 6455 §9.1 allows nothing else, even quoted).
 */
export function serializeExtensionList(extensions: readonly ExtensionOffer[]): string {
  const parts: string[] = [];
  for (const { name, params } of extensions) {
    if (!isToken(name)) throw new InvalidArgumentError(`invalid extension name ${JSON.stringify(name)}: must be a token`);
    let part = name;
    for (const [paramName, paramValue] of params) {
      if (!isToken(paramName)) {
        throw new InvalidArgumentError(`invalid parameter name ${JSON.stringify(paramName)} for extension ${name}: must be a token`);
      }
      if (paramValue === true) {
        part += `; ${paramName}`;
      } else {
        if (!isToken(paramValue)) {
          throw new InvalidArgumentError(
            `invalid value ${JSON.stringify(paramValue)} for parameter ${paramName} of extension ${name}: must be a token`,
          );
        }
        part += `; ${paramName}=${paramValue}`;
      }
    }
    parts.push(part);
  }
  return parts.join(', ');
}
