/**
 * What `Connection` guarantees the handshake subclasses (`ServerConnection`,
 * `ClientConnection`) through its protected interface: a defect of theirs while CONNECTING is
 * a failed handshake, never an exception out of `receiveData`, and the transition table
 * refuses a move it does not list.
 */
import { describe, expect, it } from 'vitest';
import { portableCodec } from '../../src/codec/index.js';
import { ServerConnection } from '../../src/protocol/server-connection.js';
import { ReadyState } from '../../src/shared/constants.js';
import { ErrorCode, InvalidStateError } from '../../src/shared/errors.js';

/** A server whose reading of the request has a defect. */
class DefectiveServer extends ServerConnection {
  protected override receiveHandshakeData(): void {
    throw new TypeError('cannot read properties of undefined');
  }
}

/** A server that opens a second time. */
class TwiceOpenedServer extends ServerConnection {
  openAgain(): void {
    this.establish({});
  }
}

describe('Connection for its handshake subclasses', () => {
  it('a defect while CONNECTING fails the handshake with an internal error; receiveData does not throw', () => {
    const connection = new DefectiveServer({ codec: portableCodec });
    expect(() => connection.receiveData(Uint8Array.of(0x47))).not.toThrow();
    const [event, ...rest] = connection.eventsReceived();
    expect(rest).toEqual([]);
    expect(event).toMatchObject({ type: 'error', error: { code: ErrorCode.INTERNAL_ERROR, message: 'internal error: cannot read properties of undefined' } });
    expect(connection.state).toBe(ReadyState.CONNECTING);
    expect(connection.shouldCloseTransport()).toBe(true);
    expect(connection.closeExpected()).toBe(true);
    // The input is discarded from then on.
    connection.receiveData(Uint8Array.of(0x45, 0x54));
    expect(connection.eventsReceived()).toEqual([]);
  });

  it('the transition table refuses a move it does not list, naming both states', () => {
    const connection = new TwiceOpenedServer({ codec: portableCodec, established: {} });
    expect(connection.state).toBe(ReadyState.OPEN);
    expect(() => connection.openAgain()).toThrow(new InvalidStateError('invalid transition from OPEN to OPEN'));
  });
});
