/**
 * The client's side of a relay connection's handshake, as a pure state machine:
 * `start(config, now)` and `nextClient(state, input, config) → { state, effects, wakeAt }`.
 *
 * The handshake runs straight through in one write: Register, Hello(offer) and an echo probe — a Data frame
 * addressed to our own key. Then the relay's first reply decides:
 *   - Welcome: the relay speaks extensions; with auth agreed, answer the challenge and wait for AuthOk.
 *   - anything else (an Error for the unknown Hello, the probe echoed back, any other frame): a core-only relay,
 *     ready at once. A core relay routes the probe back to us as it would any Data, so even a relay that ignores
 *     Hello silently answers within one round trip and costs no wait.
 *   - nothing within `helloTimeoutMs` (a core relay that drops Data to its sender): core, ready.
 * Our relay answers Hello before it reads the probe, and drops Data to the sender's own key, so an extension
 * relay's first reply is always Welcome.
 */
import { computeProof } from '../auth/proof.js';
import {
  Extension,
  encodeAuthProof,
  encodeHello,
  encodePong,
  PING_TOKEN_SIZE,
  parseAuthChallenge,
  parseExtensionList,
} from '../codec/extensions.js';
import { encodeData, encodeRegister, FrameType, KEY_SIZE } from '../codec/frame.js';

/** The echo probe's datagram. Its first byte (0) is no WireGuard message type, so a WireGuard that ever got it
 * would drop it. */
export const ECHO_PROBE = Buffer.from('\0wirekube-relay-echo-probe', 'latin1');

export interface ClientHandshakeConfig {
  publicKey: Buffer;
  /** Needed when the offer includes auth. */
  privateKey: Buffer | undefined;
  /** Extensions to offer; empty = core only (ready right after Register). */
  offer: readonly Extension[];
  /** Wait for a first reply before assuming a core relay that ignores both Hello and the probe. */
  helloTimeoutMs: number;
  /** Wait for the proof to be accepted, once auth was agreed. */
  authTimeoutMs: number;
}

/** How the connection became ready: what the integrator sees in logs and tests. */
export type ReadyVia = 'core-only' | 'welcome' | 'auth-ok' | 'core-reply' | 'hello-timeout';

export type ClientHandshakeState =
  /** Register + Hello + probe sent, waiting for the relay's first reply. */
  | { phase: 'awaiting-reply'; deadline: number }
  /** Welcome agreed auth; waiting for the challenge, then AuthOk. */
  | { phase: 'awaiting-auth'; extensions: readonly Extension[]; deadline: number }
  | { phase: 'ready'; extensions: readonly Extension[]; authenticated: boolean; via: ReadyVia }
  | { phase: 'failed'; reason: string };

export type ClientHandshakeInput =
  | { kind: 'frame'; type: number; body: Buffer; now: number }
  | { kind: 'tick'; now: number };

export type ClientHandshakeEffect =
  | { kind: 'write'; frame: Buffer }
  /** A Data frame that arrived during the handshake and belongs to the listeners (views: copy to keep). */
  | { kind: 'deliver'; source: Buffer; datagram: Buffer }
  | { kind: 'log'; level: 'info' | 'warn'; event: string; message: string; fields?: object };

export interface ClientTransition {
  state: ClientHandshakeState;
  effects: ClientHandshakeEffect[];
  wakeAt?: number;
}

/** The connection just opened: what to write, and what to wait for. */
export function startClient(config: ClientHandshakeConfig, now: number): ClientTransition {
  const register = encodeRegister(config.publicKey);
  if (config.offer.length === 0) {
    return {
      state: { phase: 'ready', extensions: [], authenticated: false, via: 'core-only' },
      effects: [{ kind: 'write', frame: register }],
    };
  }
  // One write, so the relay reads Register and Hello together and never has to guess whether Hello follows.
  const opening = Buffer.concat([
    register,
    encodeHello(config.offer),
    encodeData(config.publicKey, ECHO_PROBE),
  ]);
  const deadline = now + config.helloTimeoutMs;
  return {
    state: { phase: 'awaiting-reply', deadline },
    effects: [{ kind: 'write', frame: opening }],
    wakeAt: deadline,
  };
}

/** Whether a Data frame is our own echo probe coming back (it is consumed, never delivered). */
export function isEchoProbe(source: Buffer, datagram: Buffer, publicKey: Buffer): boolean {
  return datagram.length === ECHO_PROBE.length && datagram.equals(ECHO_PROBE) && source.equals(publicKey);
}

function coreReady(via: ReadyVia, effects: ClientHandshakeEffect[] = []): ClientTransition {
  return { state: { phase: 'ready', extensions: [], authenticated: false, via }, effects };
}

function dataEffects(body: Buffer, config: ClientHandshakeConfig): ClientHandshakeEffect[] {
  if (body.length < KEY_SIZE) return [];
  const source = body.subarray(0, KEY_SIZE);
  const datagram = body.subarray(KEY_SIZE);
  if (isEchoProbe(source, datagram, config.publicKey)) return [];
  return [{ kind: 'deliver', source, datagram }];
}

export function nextClient(
  state: ClientHandshakeState,
  input: ClientHandshakeInput,
  config: ClientHandshakeConfig,
): ClientTransition {
  if (state.phase === 'ready' || state.phase === 'failed') return { state, effects: [] };
  if (input.kind === 'tick') {
    if (input.now < state.deadline) return { state, effects: [], wakeAt: state.deadline };
    if (state.phase === 'awaiting-reply') {
      return coreReady('hello-timeout', [
        {
          kind: 'log',
          level: 'info',
          event: 'hello-timeout',
          message: 'no reply from relay: using the core protocol',
        },
      ]);
    }
    return { state: { phase: 'failed', reason: 'auth timeout' }, effects: [] };
  }
  const { type, body } = input;
  if (state.phase === 'awaiting-reply') {
    switch (type) {
      case FrameType.Welcome: {
        const extensions = parseExtensionList(body).filter((id) => config.offer.includes(id));
        if (extensions.includes(Extension.Auth) && config.privateKey !== undefined) {
          const deadline = input.now + config.authTimeoutMs;
          return { state: { phase: 'awaiting-auth', extensions, deadline }, effects: [], wakeAt: deadline };
        }
        return { state: { phase: 'ready', extensions, authenticated: false, via: 'welcome' }, effects: [] };
      }
      case FrameType.Error:
        return coreReady('core-reply', [relayError(body)]);
      case FrameType.Data:
        return coreReady('core-reply', dataEffects(body, config));
      default:
        return coreReady('core-reply');
    }
  }
  // awaiting-auth
  switch (type) {
    case FrameType.AuthChallenge: {
      let challenge: ReturnType<typeof parseAuthChallenge>;
      try {
        challenge = parseAuthChallenge(body);
      } catch (error) {
        return { state: { phase: 'failed', reason: (error as Error).message }, effects: [] };
      }
      const proof = computeProof(
        config.privateKey!,
        config.publicKey,
        challenge.ephemeralPublicKey,
        challenge.nonce,
      );
      return { state, effects: [{ kind: 'write', frame: encodeAuthProof(proof) }], wakeAt: state.deadline };
    }
    case FrameType.AuthOk:
      return {
        state: { phase: 'ready', extensions: state.extensions, authenticated: true, via: 'auth-ok' },
        effects: [],
      };
    case FrameType.Ping:
      if (!state.extensions.includes(Extension.Ping)) break;
      return {
        state,
        effects: [{ kind: 'write', frame: encodePong(body.subarray(0, PING_TOKEN_SIZE)) }],
        wakeAt: state.deadline,
      };
    case FrameType.Error:
      // The relay refused the proof or the key; it closes the connection, which ends this attempt.
      return { state, effects: [relayError(body)], wakeAt: state.deadline };
    case FrameType.Data:
      // A free key is routed before the proof completes: traffic may already arrive.
      return { state, effects: dataEffects(body, config), wakeAt: state.deadline };
  }
  return { state, effects: [], wakeAt: state.deadline };
}

function relayError(body: Buffer): ClientHandshakeEffect {
  return {
    kind: 'log',
    level: 'warn',
    event: 'relay-error',
    message: 'relay sent Error',
    fields: { text: body.toString('utf8', 0, 512) },
  };
}
