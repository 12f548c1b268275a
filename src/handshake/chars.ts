/**
 * Character classes of the HTTP/1.1 grammar (RFC 7230 §3.2, §3.2.6; RFC 5234 appendix B.1) as
 * one 256-entry lookup table, so every scan in this directory is a linear walk over char codes
 * with one table load per character — no regular expressions, nothing that can backtrack.
 */

/** `tchar` (RFC 7230 §3.2.6): the characters of a `token`. */
export const TCHAR = 1;
/** `VCHAR` (RFC 5234 B.1): visible US-ASCII, 0x21–0x7E. */
export const VCHAR = 2;
/** `obs-text` (RFC 7230 §3.2.6): 0x80–0xFF, tolerated in field values and reason phrases. */
export const OBS_TEXT = 4;
/** `SP` / `HTAB`: the whitespace of `OWS` (RFC 7230 §3.2.3). */
export const WSP = 8;
/** `qdtext` (RFC 7230 §3.2.6): what may stand unescaped inside a quoted-string. */
export const QDTEXT = 16;

/** Whether a field value may contain this character (`field-vchar`, SP, HTAB). */
export const FIELD_CHAR = VCHAR | OBS_TEXT | WSP;

const TOKEN_PUNCTUATION = "!#$%&'*+-.^_`|~";

function buildTable(): Uint8Array {
  const table = new Uint8Array(256);
  for (let c = 0x21; c <= 0x7e; c++) table[c]! |= VCHAR;
  for (let c = 0x80; c <= 0xff; c++) table[c]! |= OBS_TEXT;
  for (let c = 0x30; c <= 0x39; c++) table[c]! |= TCHAR;
  for (let c = 0x41; c <= 0x5a; c++) table[c]! |= TCHAR;
  for (let c = 0x61; c <= 0x7a; c++) table[c]! |= TCHAR;
  for (let i = 0; i < TOKEN_PUNCTUATION.length; i++) table[TOKEN_PUNCTUATION.charCodeAt(i)]! |= TCHAR;
  table[0x20]! |= WSP;
  table[0x09]! |= WSP;
  // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
  for (let c = 0; c < 256; c++) {
    if ((table[c]! & (VCHAR | OBS_TEXT | WSP)) !== 0 && c !== 0x22 && c !== 0x5c) table[c]! |= QDTEXT;
  }
  return table;
}

/** Class bits per char code 0–255. Codes above 255 belong to no class. */
export const CHAR_CLASS: Uint8Array = buildTable();

/** Whether char code `code` has any of the class bits in `mask`. */
export function hasClass(code: number, mask: number): boolean {
  return code < 256 && (CHAR_CLASS[code]! & mask) !== 0;
}

/**
 * The index of the first byte of `bytes[start..end)` that has none of the class bits in
 * `mask`, or `end`. The per-byte loops of the head parser live here, next to the table.
 */
export function skipBytes(bytes: Uint8Array, start: number, end: number, mask: number): number {
  let i = start;
  while (i < end && (CHAR_CLASS[bytes[i]!]! & mask) !== 0) i++;
  return i;
}

/** The index just after the last byte of `bytes[start..end)` that has none of the bits in `mask`, or `start`. */
export function skipBytesBackward(bytes: Uint8Array, start: number, end: number, mask: number): number {
  let i = end;
  while (i > start && (CHAR_CLASS[bytes[i - 1]!]! & mask) !== 0) i--;
  return i;
}

/** Decode `bytes[start..end)` as ISO-8859-1, the byte-per-character reading HTTP heads have (RFC 7230 §3.2.4). */
export function latin1Decode(bytes: Uint8Array, start: number, end: number): string {
  // Eight characters per call: measured about twice as fast as String.fromCharCode.apply on a
  // subarray for header-sized strings (10–70 bytes), and it needs no platform decoder.
  let out = '';
  let i = start;
  for (; i + 8 <= end; i += 8) {
    out += String.fromCharCode(bytes[i]!, bytes[i + 1]!, bytes[i + 2]!, bytes[i + 3]!, bytes[i + 4]!, bytes[i + 5]!, bytes[i + 6]!, bytes[i + 7]!);
  }
  for (; i < end; i++) out += String.fromCharCode(bytes[i]!);
  return out;
}

/** Whether `text` is a non-empty `token` (RFC 7230 §3.2.6). */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    if (!hasClass(text.charCodeAt(i), TCHAR)) return false;
  }
  return true;
}

/** Whether every character of `text` may appear in a field value (`field-vchar`, SP, HTAB). */
export function isFieldValue(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (!hasClass(text.charCodeAt(i), FIELD_CHAR)) return false;
  }
  return true;
}

/** ASCII-only lower-casing: header names and the tokens compared here are ASCII by grammar. */
export function asciiLowerCase(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return text.toLowerCase();
  }
  return text;
}

/** Whether `a` and `b` are equal ignoring ASCII case (RFC 6455 "ASCII case-insensitive match"). */
export function equalsIgnoreAsciiCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x >= 0x41 && x <= 0x5a) x += 0x20;
    if (y >= 0x41 && y <= 0x5a) y += 0x20;
    if (x !== y) return false;
  }
  return true;
}

// RFC 3986 §3.2.2: reg-name = *( unreserved / pct-encoded / sub-delims ).
const REG_NAME_PUNCTUATION = "-._~%!$&'()*+,;=";
// Inside brackets: IPv6 hex digits, ':' and '.', and an RFC 6874 zone ID (unreserved, '%').
const IP_LITERAL_PUNCTUATION = ':.%-_~';

/** Whether `code` may appear in a host (RFC 3986 §3.2.2): in a reg-name or IPv4 address, or
 *  (`bracketed`) inside the brackets of an IP literal. */
export function isHostChar(code: number, bracketed: boolean): boolean {
  if ((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) return true;
  return (bracketed ? IP_LITERAL_PUNCTUATION : REG_NAME_PUNCTUATION).includes(String.fromCharCode(code));
}

/**
 * Whether `value` is a valid, non-empty Host header value: `uri-host [ ":" port ]`
 * (RFC 7230 §5.4), with an IPv6 address in brackets and the port all digits.
 */
export function isValidHostHeader(value: string): boolean {
  let hostEnd: number;
  if (value.startsWith('[')) {
    hostEnd = value.indexOf(']') + 1;
    if (hostEnd <= 2) return false;
    for (let i = 1; i < hostEnd - 1; i++) if (!isHostChar(value.charCodeAt(i), true)) return false;
  } else {
    const colon = value.indexOf(':');
    hostEnd = colon === -1 ? value.length : colon;
    if (hostEnd === 0) return false;
    for (let i = 0; i < hostEnd; i++) if (!isHostChar(value.charCodeAt(i), false)) return false;
  }
  if (hostEnd === value.length) return true;
  if (value.charCodeAt(hostEnd) !== 0x3a) return false;
  for (let i = hostEnd + 1; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/**
 * A short, printable rendering of untrusted text for error messages: JSON-quoted (control
 * characters escaped) and cut to 64 characters, so a hostile peer cannot put raw bytes or
 * kilobytes into our logs or into the body of an error response.
 */
export function quoteForMessage(text: string): string {
  const clipped = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return JSON.stringify(clipped);
}
