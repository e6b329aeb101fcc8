/**
 * The relay programs the contract suite runs: the same flags, the same expectations. Both are the built programs a
 * user gets (the image runs one of them): `dist/main.js` from the package build, `native/bin/wirekube-relay` from
 * its build-native target. A missing program is a failure, never a skip: CI builds both, and a skip would hide
 * that one of them was never checked.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface RelayImplementation {
  readonly name: 'node' | 'go';
  /** The program's path, for the message when it is missing. */
  readonly path: string;
  /** argv to start it with `flags`. */
  command(flags: readonly string[]): string[];
}

const NODE_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const GO_BINARY = fileURLToPath(new URL('../../native/bin/wirekube-relay', import.meta.url));

export const IMPLEMENTATIONS: readonly RelayImplementation[] = [
  { name: 'node', path: NODE_MAIN, command: (flags) => [process.execPath, NODE_MAIN, ...flags] },
  { name: 'go', path: GO_BINARY, command: (flags) => [GO_BINARY, ...flags] },
];

/** Why `implementation` cannot run here, or null. */
export function missing(implementation: RelayImplementation): string | null {
  if (existsSync(implementation.path)) return null;
  const target = implementation.name === 'go' ? 'build-native' : 'build';
  return `${implementation.path} does not exist: run \`npx nx run @wirekube/relay:${target}\` first`;
}
