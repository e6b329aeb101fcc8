// Which relay-link program spawn mode starts: the Go one (native/relay-link, built into native/bin by the agent's
// build-native target and shipped in the image) unless told otherwise or it is missing, else the agent's own
// `relay-link` command. Both speak the same socket protocol and take the same arguments, so this is only a
// choice of program; the Go one is the default because it is the faster (README, "Relay link").

/** The environment variable that picks the implementation: a path, or `node`. */
export const RELAY_LINK_BINARY_ENV = 'WIREKUBE_RELAY_LINK_BINARY';

/** Where the shipped Go relay-link lives, relative to the agent package's root (images/stage-app.sh copies it). */
export const SHIPPED_RELAY_LINK = 'native/bin/wirekube-relay-link';

export type RelayLinkImplementation = 'go' | 'node';

export type RelayLinkChoiceReason =
  /** WIREKUBE_RELAY_LINK_BINARY names a program: used as given, whether or not it exists (spawn says if not). */
  | 'env-binary'
  /** WIREKUBE_RELAY_LINK_BINARY=node: the escape hatch, and what benches set to compare. */
  | 'env-node'
  /** Nothing set and the shipped Go binary is an executable file. */
  | 'shipped-binary'
  /** Nothing set and no usable shipped binary (a checkout built without Go, a platform it was not built for). */
  | 'no-shipped-binary';

export interface RelayLinkChoice {
  implementation: RelayLinkImplementation;
  reason: RelayLinkChoiceReason;
  /** The program and its leading arguments; the caller appends `relay-link --socket …`. */
  command: readonly string[];
}

export interface RelayLinkChoiceInput {
  /** WIREKUBE_RELAY_LINK_BINARY; empty counts as unset. */
  binary: string | undefined;
  /** The shipped Go binary's absolute path and whether it is an executable file. */
  shipped: { path: string; executable: boolean };
  /** This very program: `node dist/main.js`. */
  node: readonly string[];
}

export function chooseRelayLink(input: RelayLinkChoiceInput): RelayLinkChoice {
  const binary = input.binary?.trim();
  if (binary === 'node') return { implementation: 'node', reason: 'env-node', command: input.node };
  if (binary) return { implementation: 'go', reason: 'env-binary', command: [binary] };
  if (input.shipped.executable)
    return { implementation: 'go', reason: 'shipped-binary', command: [input.shipped.path] };
  return { implementation: 'node', reason: 'no-shipped-binary', command: input.node };
}
