/** Every fuzz target, by name. */
import { connectionTarget } from './connection.js';
import { frameParserTarget } from './frame-parser.js';
import { handshakeTarget } from './handshake.js';
import type { FuzzTarget } from './types.js';

export const targets: readonly FuzzTarget[] = [frameParserTarget, handshakeTarget, connectionTarget];

/** The target named `name`. @throws Error for an unknown name. */
export function targetNamed(name: string): FuzzTarget {
  const target = targets.find((candidate) => candidate.name === name);
  if (target === undefined) throw new Error(`unknown fuzz target ${JSON.stringify(name)}: one of ${targets.map((t) => t.name).join(', ')}`);
  return target;
}
