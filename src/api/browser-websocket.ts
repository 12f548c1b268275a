/**
 * `WebSocket` for pages and workers: every face's API (`WebSocketFace`) over the browser's
 * own `WebSocket`, driven through a small engine (`NativeEngine`), so the same application code runs in Node and in a browser:
 *
 *     import { WebSocket } from 'wasmsocket';      // the browser build in a page, the Node one in Node
 *     const ws = new WebSocket('wss://example.com/chat', ['chat']);
 *     ws.on('open', () => ws.send(JSON.stringify({ hello: 'world' })));
 *     ws.on('message', (data, isBinary) => console.log(isBinary ? data : JSON.parse(String(data))));
 *
 * The browser does the protocol here (a page may not open a TCP socket), so what the browser's
 * API cannot do, this cannot either, and says so instead of pretending:
 * - `ping` and `pong` throw a `NotSupportedError` DOMException (the browser answers the
 *   server's pings itself);
 * - `close` codes are those the WHATWG API allows (1000 and 3000–4999; the browser throws an
 *   `InvalidAccessError` for others);
 * - request headers, an origin of one's own and TLS options cannot be set (the browser
 *   decides them); passing them throws rather than connecting without them;
 * - `send(data, { fin: false })` fragments are collected and sent as one message when the
 *   `fin` one arrives (the receiver sees the same message; it arrives whole);
 * - `pause()` holds events until `resume()` but cannot stop the browser from reading;
 * - a `send` callback runs once the browser has handed the bytes to the network
 *   (`bufferedAmount` fell past them), and `'drain'` follows a `send` that returned false —
 *   both by watching `bufferedAmount`, which is all the browser reports;
 * - `terminate()` starts the browser's closing handshake (it has no abort) and reports the
 *   close (1006) at once;
 * - `error` events carry a `WebSocketError` with code `WSX_ERR_CONNECTION_FAILED` (or a
 *   `HandshakeError` while connecting): browsers do not say why a connection failed.
 */
import type { WriteCallback } from '../adapters/driver.js';
import { DEFAULT_TRANSPORT_OPTIONS, type ConnectionSink } from '../adapters/types.js';
import { concatBytes, utf8Encode } from '../shared/bytes.js';
import { ReadyState } from '../shared/constants.js';
import { ErrorCode, HandshakeError, InvalidArgumentError, WebSocketError } from '../shared/errors.js';
import { domException, type FaceEngine, faceOf, makeAccessorsEnumerable, notOpenError, WebSocketFace } from './face.js';
import { parseWebSocketUrl } from './url.js';

/** Options of the browser client. */
export interface BrowserWebSocketOptions {
  /** `send` returns false once `bufferedAmount` reaches this (then `'drain'`); default 64 KiB, as the Node client. */
  readonly highWaterMark?: number;
}

/** Node client options a browser cannot honour: refused rather than silently dropped. */
const NODE_ONLY_OPTIONS = ['headers', 'origin', 'agent', 'ca', 'cert', 'key', 'passphrase', 'rejectUnauthorized', 'servername', 'family', 'localAddress'];

/** How often `bufferedAmount` is checked while send callbacks or a drain wait (ms). */
const BUFFER_POLL_INTERVAL = 4;

/** The platform's WebSocket, taken before anything can replace the global with this class. */
const NativeWebSocket: typeof globalThis.WebSocket | undefined = (globalThis as { WebSocket?: typeof globalThis.WebSocket }).WebSocket;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const textEncoder = new TextEncoder();

/** A send callback due once `position` bytes (counted from the first send) have left. */
interface PendingCallback {
  readonly position: number;
  readonly callback: WriteCallback;
}

/** The browser's socket as a face's engine: what the browser can do, and honest refusals of the rest. */
class NativeEngine implements FaceEngine {
  readonly #native: globalThis.WebSocket;
  readonly #sink: ConnectionSink;
  readonly highWaterMark: number;
  /** terminate() reported the close already: the native socket's own events are ignored. */
  #terminated = false;
  #paused = false;
  /** Events held while paused, in order. */
  #held: (() => void)[] = [];
  /** Fragments of a message sent with `fin: false`, until the `fin` one. */
  #fragments: { parts: Uint8Array[]; bytes: number; binary: boolean } | null = null;
  /** Bytes handed to the native socket since the start (for send callbacks). */
  #handedOver = 0;
  #pendingCallbacks: PendingCallback[] = [];
  #needDrain = false;
  #pollTimer: ReturnType<typeof setTimeout> | null = null;
  /** The native socket opened (an error before that is a failed handshake). */
  #opened = false;
  /** The close was delivered (by the native socket or by terminate()). */
  #closedReported = false;

  constructor(native: globalThis.WebSocket, sink: ConnectionSink, highWaterMark: number) {
    this.#native = native;
    this.#sink = sink;
    this.highWaterMark = highWaterMark;
    native.binaryType = 'arraybuffer';
    native.addEventListener('open', () => {
      this.#opened = true;
      this.#event(() => sink.onOpen(native.protocol === '' ? null : native.protocol, []));
    });
    native.addEventListener('message', (event) => {
      const data = (event as MessageEvent<string | ArrayBuffer>).data;
      if (typeof data === 'string') this.#event(() => sink.onMessage(textEncoder.encode(data), false));
      else this.#event(() => sink.onMessage(new Uint8Array(data), true));
    });
    native.addEventListener('error', () => {
      const error = !this.#opened
        ? new HandshakeError('the browser could not open the WebSocket connection (browsers do not say why)', 0)
        : new WebSocketError('the browser failed the WebSocket connection (browsers do not say why; see the close code)', ErrorCode.CONNECTION_FAILED);
      this.#event(() => sink.onError(error));
    });
    native.addEventListener('close', (event) => {
      const { code, reason, wasClean } = event as CloseEvent;
      this.#event(() => this.#closed(code, reason, wasClean));
    });
  }

  get native(): globalThis.WebSocket {
    return this.#native;
  }

  get state(): ReadyState {
    if (this.#terminated) return ReadyState.CLOSED;
    return this.#native.readyState as ReadyState;
  }

  get terminating(): boolean {
    return false;
  }

  /** The browser's `bufferedAmount`, plus fragments held until their message's last one. */
  get bufferedAmount(): number {
    return this.#native.bufferedAmount + (this.#fragments?.bytes ?? 0);
  }

  get isPaused(): boolean {
    return this.#paused;
  }

  send(data: string | Uint8Array, binary: boolean, fin: boolean, callback: WriteCallback | undefined): boolean {
    // A whole text message given as a string goes to the browser as it is (the face passes
    // strings only as text); a fragment of one waits as UTF-8 with the others.
    const whole = fin && this.#fragments === null;
    let payload = typeof data === 'string' ? (whole ? null : utf8Encode(data)) : data;
    if (!whole) {
      const message = (this.#fragments ??= { parts: [], bytes: 0, binary });
      message.parts.push(payload!);
      message.bytes += payload!.length;
      if (!fin) {
        if (callback !== undefined) this.#whenSent(0, callback);
        return this.bufferedAmount < this.highWaterMark;
      }
      this.#fragments = null;
      payload = concatBytes(message.parts);
      binary = message.binary;
    }
    let wire: string | Uint8Array = payload ?? (data as string);
    if (payload !== null && !binary) {
      // RFC 6455 §5.6: a text message "is text data encoded as UTF-8" — checked, as the core does.
      try {
        wire = strictUtf8.decode(payload);
      } catch {
        throw new InvalidArgumentError('cannot send these bytes as text: they are not valid UTF-8');
      }
    }
    const before = this.#native.bufferedAmount;
    this.#native.send(wire as string | ArrayBufferView<ArrayBuffer>);
    // The browser counts a string's UTF-8 bytes; measure what it counted.
    this.#handedOver += this.#native.bufferedAmount - before;
    if (callback !== undefined) this.#whenSent(this.#handedOver, callback);
    if (this.bufferedAmount >= this.highWaterMark) {
      this.#needDrain = true;
      this.#watchBuffer();
      return false;
    }
    return true;
  }

  /**
   * Not possible in a browser: its WebSocket API sends no pings (it answers the server's).
   * @throws DOMException `NotSupportedError`.
   */
  ping(): void {
    throw domException("the browser's WebSocket API cannot send pings (the browser answers the server's pings itself)", 'NotSupportedError');
  }

  /** Not possible in a browser: its WebSocket API sends no unsolicited pongs. @throws DOMException `NotSupportedError`. */
  pong(): void {
    throw domException("the browser's WebSocket API cannot send pongs (the browser answers the server's pings itself)", 'NotSupportedError');
  }

  /** The browser's closing handshake; it allows only 1000 and 3000–4999 (else `InvalidAccessError`). */
  close(code: number | undefined, reason: string | undefined): void {
    if (this.#terminated) return;
    this.#native.close(code, reason);
    this.#fragments = null;
  }

  /**
   * End the connection now: the browser's closing handshake starts (it has no abort), and the
   * close is reported at once with 1006, as a terminated Node socket's is. While CONNECTING
   * the browser fails the connection itself: `error`, then `close` 1006.
   */
  terminate(): void {
    const state = this.state;
    if (state === ReadyState.CLOSED) return;
    this.#native.close();
    if (state === ReadyState.CONNECTING) return;
    this.#terminated = true;
    this.#fragments = null;
    queueMicrotask(() => this.#event(() => this.#closed(1006, '', false)));
  }

  /** Hold events until `resume()`. (The browser keeps reading: messages wait here.) */
  pause(): void {
    this.#paused = true;
  }

  /** Deliver the held events, then let events flow again. */
  resume(): void {
    this.#paused = false;
    while (this.#held.length > 0 && !this.#paused) this.#held.shift()!();
  }

  /** Deliver an event of the native socket now, or hold it while paused (order is kept). */
  #event(delivery: () => void): void {
    if (this.#paused || this.#held.length > 0) this.#held.push(delivery);
    else delivery();
  }

  #closed(code: number, reason: string, wasClean: boolean): void {
    if (this.#closedReported) return;
    this.#closedReported = true;
    this.#fragments = null;
    this.#stopWatching();
    const error = notOpenError(ReadyState.CLOSED);
    for (const { callback } of this.#pendingCallbacks.splice(0)) callback(error);
    this.#sink.onClose(code, reason, wasClean);
  }

  /** Run `callback` once `position` bytes have left the browser's buffer. */
  #whenSent(position: number, callback: WriteCallback): void {
    this.#pendingCallbacks.push({ position, callback });
    this.#watchBuffer();
  }

  /** Watch `bufferedAmount` while callbacks or a drain wait: it is all the browser reports. */
  #watchBuffer(): void {
    if (this.#pollTimer !== null) return;
    const check = (): void => {
      this.#pollTimer = null;
      if (this.#closedReported) return;
      const sent = this.#handedOver - this.#native.bufferedAmount;
      while (this.#pendingCallbacks.length > 0 && this.#pendingCallbacks[0]!.position <= sent) this.#pendingCallbacks.shift()!.callback(null);
      if (this.#needDrain && this.bufferedAmount === 0) {
        this.#needDrain = false;
        this.#sink.onDrain();
      }
      if (this.#pendingCallbacks.length > 0 || this.#needDrain) this.#pollTimer = setTimeout(check, BUFFER_POLL_INTERVAL);
    };
    this.#pollTimer = setTimeout(check, 0);
  }

  #stopWatching(): void {
    if (this.#pollTimer !== null) clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
  }
}

/** See the module comment. */
export class WebSocket extends WebSocketFace {
  readonly #engine: NativeEngine;

  /**
   * Open a connection to `url` (ws:, wss:, or http: and https:, which map to them; relative to
   * the page's or worker's location).
   *
   * @param protocols subprotocols to offer, most preferred first (or the options).
   * @throws DOMException `SyntaxError` for an invalid URL, scheme, fragment or subprotocol list.
   * @throws InvalidArgumentError for an option only Node can honour (headers, origin, TLS, …).
   * @throws DOMException `NotSupportedError` where the platform has no WebSocket.
   */
  constructor(url: string | URL, protocols?: string | readonly string[] | BrowserWebSocketOptions, options?: BrowserWebSocketOptions) {
    super();
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols as BrowserWebSocketOptions;
      protocols = undefined;
    }
    for (const name of NODE_ONLY_OPTIONS) {
      if (options !== undefined && (options as Record<string, unknown>)[name] !== undefined) {
        throw new InvalidArgumentError(`the browser's WebSocket cannot set the "${name}" option (the browser decides it); connect from Node, or use StreamWebSocket over a stream you control`);
      }
    }
    const highWaterMark = options?.highWaterMark ?? DEFAULT_TRANSPORT_OPTIONS.highWaterMark;
    if (!Number.isSafeInteger(highWaterMark) || highWaterMark < 0) throw new InvalidArgumentError(`highWaterMark must be a non-negative integer, got ${String(highWaterMark)}`);
    if (NativeWebSocket === undefined) throw domException('this runtime has no WebSocket; use StreamWebSocket over a byte stream', 'NotSupportedError');
    // The same checks the browser makes, with the Node client's messages.
    const target = parseWebSocketUrl(url, protocols as string | readonly string[] | undefined);
    this.#engine = new NativeEngine(new NativeWebSocket(target.url.href, target.protocols), faceOf(this).sink, highWaterMark);
    faceOf(this).engine = this.#engine;
  }

  override get url(): string {
    return this.#engine.native.url;
  }

  override get protocol(): string {
    return this.#engine.native.protocol;
  }

  override get extensions(): string {
    return this.#engine.native.extensions;
  }

  /**
   * Which HTTP carried the opening handshake, as the Node socket's `httpVersion` says it:
   * undefined here, because the browser chooses between an HTTP/1.1 Upgrade and an HTTP/2
   * extended CONNECT (RFC 8441) and does not tell the page.
   */
  get httpVersion(): '1.1' | '2' | undefined {
    return undefined;
  }

  /** Always false: a page is a client. (The Node socket's `isServer`.) */
  get isServer(): boolean {
    return false;
  }
}
makeAccessorsEnumerable(WebSocket);
