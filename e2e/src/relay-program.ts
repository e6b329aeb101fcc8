/**
 * The relay program the lab runs in the relay's place: by default what the chart runs (`relay.implementation:
 * go`, the relay package's Go build-native output), or the Node program with WIREKUBE_LAB_RELAY=node, so every
 * lab test can be run against either. A missing Go relay is an error, never a quiet fall-back: the lab would
 * then test something the chart does not ship.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LabError } from './errors.js';

export type RelayImplementation = 'go' | 'node';

export const NODE_RELAY_MAIN = fileURLToPath(new URL('../../packages/relay/dist/main.js', import.meta.url));
export const GO_RELAY = fileURLToPath(
  new URL('../../packages/relay/native/bin/wirekube-relay', import.meta.url),
);

/** WIREKUBE_LAB_RELAY: `go` (default) or `node`. */
export function labRelayImplementation(env: NodeJS.ProcessEnv = process.env): RelayImplementation {
  const value = env.WIREKUBE_LAB_RELAY ?? 'go';
  if (value === 'go' || value === 'node') return value;
  throw new LabError(`WIREKUBE_LAB_RELAY must be go or node, got '${value}'`);
}

/** argv of the relay program with `flags`. */
export function relayCommand(
  flags: readonly string[],
  implementation: RelayImplementation = labRelayImplementation(),
): string[] {
  if (implementation === 'node') return ['node', NODE_RELAY_MAIN, ...flags];
  if (!existsSync(GO_RELAY)) {
    throw new LabError(
      `${GO_RELAY} does not exist: build it (npx nx run @wirekube/relay:build-native) or set WIREKUBE_LAB_RELAY=node`,
    );
  }
  return [GO_RELAY, ...flags];
}
