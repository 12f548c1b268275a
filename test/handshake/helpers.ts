/** Test helpers for the handshake suites. */

import { expect } from 'vitest';
import type { ClientExtensionNegotiator, ServerExtensionNegotiator } from '../../src/handshake/extensions.js';
import type { ExtensionParams } from '../../src/handshake/headers.js';
import { HandshakeError } from '../../src/shared/errors.js';

/** Run `fn`, fail the test if it does not throw, and return what it threw. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  expect.fail('expected a throw');
}

/** Bytes of a string, one per character (ISO-8859-1); for building raw HTTP heads. */
export function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** The inverse of `latin1Bytes`. */
export function latin1Text(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += String.fromCharCode(byte);
  return out;
}

/** What the test negotiators produce: which extension, and with which parameters. */
export interface TestExtension {
  readonly name: string;
  readonly params: ExtensionParams;
}

/**
 * A server negotiator that accepts the first offer whose parameters `accepts` approves (all,
 * by default) and echoes its parameters back; it records every call.
 */
export function testServerNegotiator(
  name: string,
  rsvBits: number,
  accepts: (params: ExtensionParams) => boolean = () => true,
): ServerExtensionNegotiator<TestExtension> & { readonly calls: ExtensionParams[][] } {
  const calls: ExtensionParams[][] = [];
  return {
    name,
    rsvBits,
    calls,
    accept(offers) {
      calls.push([...offers]);
      const chosen = offers.find(accepts);
      return chosen === undefined ? null : { response: chosen, extension: { name, params: chosen } };
    },
  };
}

/**
 * A client negotiator that offers `offers` and accepts any response whose parameters are all
 * known from its offers (a HandshakeError otherwise, as a real extension would).
 */
export function testClientNegotiator(
  name: string,
  rsvBits: number,
  offers: ExtensionParams[] = [[]],
): ClientExtensionNegotiator<TestExtension> {
  const known = new Set(offers.flatMap((params) => params.map(([paramName]) => paramName)));
  return {
    name,
    rsvBits,
    offer: () => offers,
    accept(params) {
      for (const [paramName] of params) {
        if (!known.has(paramName)) throw new HandshakeError(`${name}: unexpected parameter ${paramName}`, 400);
      }
      return { name, params };
    },
  };
}
