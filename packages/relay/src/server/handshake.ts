/**
 * What one relay connection may do, as a pure state machine: `next(state, input, env) → { state, effects, wakeAt }`.
 * Every frame that is not forwarded Data goes through it (registration, extension negotiation, the ownership
 * proof, liveness, Control), and so do the clock ticks that enforce the handshake, hello-grace, ping and idle
 * deadlines. It does no I/O: session.ts applies the effects to the socket and the routing table.
 *
 * The handshake runs straight through: Register, then (optionally, in the same write) Hello, then the proof. A
 * connection that must prove its key and does not say Hello within `helloGraceMs` of its Register is refused at
 * once with the reason, instead of waiting for the handshake timeout.
 *
 * Garbage is cheap to refuse: a connection that has not registered yet and breaks the framing (a length prefix
 * outside 1..65536: random bytes, a TLS or HTTP client) is cut at once without an Error frame — it does not
 * speak the framing, so it would not read one — and every close of a never-registered connection is logged at
 * debug, not info: a flood of garbage connections is counted (protocolErrors) but must not become a flood of
 * log lines, which cost the relay more CPU than the garbage itself.
 */
import type { PendingChallenge } from '../auth/proof.js';
import {
  Extension,
  encodeAuthChallenge,
  encodeAuthOk,
  encodePing,
  encodePong,
  encodeWelcome,
  PING_TOKEN_SIZE,
  parseControl,
  parseExtensionList,
} from '../codec/extensions.js';
import { encodeError, FrameType, frameTypeName, KEY_SIZE } from '../codec/frame.js';
import { take } from './token-bucket.js';

export interface HandshakeConfig {
  requireAuth: boolean;
  /** Extensions this relay enables. */
  extensions: readonly Extension[];
  handshakeTimeoutMs: number;
  helloGraceMs: number;
  idleTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** Control frames a connection may send per second, sustained, and in one burst. */
  controlPerSecond: number;
  controlBurst: number;
}

/** Configuration and the two impure helpers the machine needs, injected so tables can fix them. */
export interface HandshakeEnv {
  config: HandshakeConfig;
  createChallenge(): PendingChallenge;
  verifyProof(challenge: PendingChallenge, key: Uint8Array, proof: Uint8Array): boolean;
}

export type SessionState =
  /** Waiting for the first frame, which must be Register. */
  | { phase: 'new'; openedAt: number }
  /** Registered but not routed: the key needs a proof (auth required, or the key is taken); Hello must follow. */
  | { phase: 'pending'; openedAt: number; key: Buffer; helloDeadline: number }
  /** Not routed, challenge sent, waiting for the proof. */
  | {
      phase: 'proving';
      openedAt: number;
      key: Buffer;
      extensions: readonly Extension[];
      challenge: PendingChallenge;
    }
  /** Routed: Data to its key reaches it. */
  | {
      phase: 'active';
      key: Buffer;
      extensions: readonly Extension[];
      authenticated: boolean;
      /** Set while a voluntary proof (free key, auth offered) is outstanding. */
      challenge: PendingChallenge | null;
      /** Only the frame right after Register may be Hello. */
      helloAllowed: boolean;
      lastPingAt: number;
      /** Control rate limit: a token bucket. */
      controlTokens: number;
      controlRefilledAt: number;
    }
  | { phase: 'closed'; reason: string };

export type SessionInput =
  /** A frame that is not forwarded Data. `keyTaken`: another connection holds the key this one claims (or, for a
   * Register frame, the key in its body). */
  | { kind: 'frame'; type: number; body: Buffer; now: number; keyTaken: boolean }
  /** Time passed. `lastReceivedAt`: when the connection last received any byte. */
  | { kind: 'tick'; now: number; lastReceivedAt: number; keyTaken: boolean }
  /** The stream lost its framing (a length prefix out of range): nothing more can be read from it. */
  | { kind: 'malformed'; message: string; now: number };

export type SessionCounter =
  | 'protocolErrors'
  | 'authSuccesses'
  | 'authFailures'
  | 'refusedRegistrations'
  | 'unregistered'
  | 'controlRateLimited';

export type SessionEffect =
  | { kind: 'send'; frame: Buffer }
  /** Route the connection's key to it, closing any previous holder. */
  | { kind: 'route'; key: Buffer }
  /** `level`: how loudly to log it — debug for a connection that never registered (garbage), else info. */
  | { kind: 'close'; reason: string; errorText: string | null; level: CloseLogLevel }
  | { kind: 'count'; counter: SessionCounter }
  /** Forward a Control payload (a view into the read: copy before keeping) to `destination`. */
  | { kind: 'control'; destination: Buffer; payload: Buffer }
  | { kind: 'log'; level: 'debug' | 'info' | 'warn'; event: string; message: string; fields?: object };

export type CloseLogLevel = 'debug' | 'info';

export interface Transition {
  state: SessionState;
  effects: SessionEffect[];
  /** When the machine wants a tick at the latest (beyond the server's regular sweep). */
  wakeAt?: number;
}

export function initialSessionState(now: number): SessionState {
  return { phase: 'new', openedAt: now };
}

const AUTH_REQUIRED = 'authentication required: this relay only routes keys proven by the auth extension';
const KEY_TAKEN =
  'key already registered by another connection; prove ownership (auth extension) to replace it';

export function nextSession(state: SessionState, input: SessionInput, env: HandshakeEnv): Transition {
  if (state.phase === 'closed') return { state, effects: [] };
  if (input.kind === 'tick') return tick(state, input, env.config);
  if (input.kind === 'malformed') return malformed(state, input.message);
  switch (state.phase) {
    case 'new':
      return onFirstFrame(state, input, env.config);
    case 'pending':
      return onPendingFrame(state, input, env);
    case 'proving':
      return onProvingFrame(state, input, env);
    case 'active':
      return onActiveFrame(state, input, env);
  }
}

type FrameInput = Extract<SessionInput, { kind: 'frame' }>;
type OpenState = Exclude<SessionState, { phase: 'closed' }>;
type TickInput = Extract<SessionInput, { kind: 'tick' }>;
type Active = Extract<SessionState, { phase: 'active' }>;

function close(
  reason: string,
  errorText: string | null,
  effects: SessionEffect[] = [],
  level: CloseLogLevel = 'info',
): Transition {
  return {
    state: { phase: 'closed', reason },
    effects: [...effects, { kind: 'close', reason, errorText, level }],
  };
}

/** A protocol violation that ends the connection; quiet when it never registered. */
function fatal(message: string, from: OpenState): Transition {
  return close(
    message,
    `protocol error: ${message}`,
    [{ kind: 'count', counter: 'protocolErrors' }],
    from.phase === 'new' ? 'debug' : 'info',
  );
}

function malformed(state: OpenState, message: string): Transition {
  const counted: SessionEffect[] = [{ kind: 'count', counter: 'protocolErrors' }];
  // Not a client of ours at all: no Error frame (and no close grace timer for it), no info line.
  if (state.phase === 'new') return close('bad frame length', null, counted, 'debug');
  return close('bad frame length', `protocol error: ${message}`, counted);
}

function warning(state: SessionState, message: string): Transition {
  return {
    state,
    effects: [
      { kind: 'count', counter: 'protocolErrors' },
      { kind: 'send', frame: encodeError(`protocol error: ${message}`) },
    ],
  };
}

function refuse(keyTaken: boolean): Transition {
  return keyTaken
    ? close('key taken', KEY_TAKEN, [{ kind: 'count', counter: 'refusedRegistrations' }])
    : close('auth required', AUTH_REQUIRED);
}

function activate(
  key: Buffer,
  extensions: readonly Extension[],
  authenticated: boolean,
  now: number,
  config: HandshakeConfig,
  helloAllowed: boolean,
): { state: Active; effects: SessionEffect[] } {
  return {
    state: {
      phase: 'active',
      key,
      extensions,
      authenticated,
      challenge: null,
      helloAllowed,
      lastPingAt: now,
      controlTokens: config.controlBurst,
      controlRefilledAt: now,
    },
    effects: [
      { kind: 'route', key },
      {
        kind: 'log',
        level: 'info',
        event: 'registered',
        message: 'peer registered',
        fields: { authenticated },
      },
    ],
  };
}

function onFirstFrame(
  state: Extract<SessionState, { phase: 'new' }>,
  input: FrameInput,
  config: HandshakeConfig,
): Transition {
  if (input.type !== FrameType.Register) {
    return fatal(`first frame must be Register, got ${frameTypeName(input.type)}`, state);
  }
  if (input.body.length !== KEY_SIZE) {
    return fatal(`Register body must be a ${KEY_SIZE}-byte key, got ${input.body.length} bytes`, state);
  }
  const key = Buffer.from(input.body);
  if (config.requireAuth || input.keyTaken) {
    const helloDeadline = input.now + config.helloGraceMs;
    return {
      state: { phase: 'pending', openedAt: state.openedAt, key, helloDeadline },
      effects: [
        {
          kind: 'log',
          level: 'debug',
          event: 'register-pending',
          message: 'registration needs a proof',
          fields: { taken: input.keyTaken },
        },
      ],
      wakeAt: helloDeadline,
    };
  }
  return activate(key, [], false, input.now, config, true);
}

/** The Welcome answer to a Hello: the offered extensions this relay enables. */
function negotiate(body: Buffer, enabled: readonly Extension[]): Extension[] {
  return parseExtensionList(body).filter((id) => enabled.includes(id));
}

function onPendingFrame(
  state: Extract<SessionState, { phase: 'pending' }>,
  input: FrameInput,
  env: HandshakeEnv,
): Transition {
  // A pending connection gets exactly one chance: Hello with auth, then the proof. Anything else ends it.
  if (input.type !== FrameType.Hello || env.config.extensions.length === 0) return refuse(input.keyTaken);
  const extensions = negotiate(input.body, env.config.extensions);
  const welcome: SessionEffect = { kind: 'send', frame: encodeWelcome(extensions) };
  if (!extensions.includes(Extension.Auth)) {
    const refused = refuse(input.keyTaken);
    return { state: refused.state, effects: [welcome, ...refused.effects] };
  }
  const challenge = env.createChallenge();
  return {
    state: { phase: 'proving', openedAt: state.openedAt, key: state.key, extensions, challenge },
    effects: [welcome, { kind: 'send', frame: encodeAuthChallenge(challenge) }],
  };
}

function proofFailed(): Transition {
  return close('auth failed', 'authentication failed: proof does not match the registered key', [
    { kind: 'count', counter: 'authFailures' },
    { kind: 'log', level: 'warn', event: 'auth-failed', message: 'key ownership proof failed' },
  ]);
}

const proven: SessionEffect[] = [
  { kind: 'count', counter: 'authSuccesses' },
  { kind: 'send', frame: encodeAuthOk() },
  { kind: 'log', level: 'info', event: 'authenticated', message: 'key ownership proven' },
];

function onProvingFrame(
  state: Extract<SessionState, { phase: 'proving' }>,
  input: FrameInput,
  env: HandshakeEnv,
): Transition {
  switch (input.type) {
    case FrameType.AuthProof: {
      if (!env.verifyProof(state.challenge, state.key, input.body)) return proofFailed();
      const active = activate(state.key, state.extensions, true, input.now, env.config, false);
      return { state: active.state, effects: [...proven, ...active.effects] };
    }
    case FrameType.Keepalive:
      return { state, effects: [] };
    case FrameType.Data:
      return { state, effects: [{ kind: 'count', counter: 'unregistered' }] };
    case FrameType.Error:
      return { state, effects: [clientError(input.body)] };
    case FrameType.Register:
      return warning(state, 'Register is only allowed as the first frame');
    case FrameType.Hello:
      return fatal('Hello is only allowed right after Register', state);
    case FrameType.Ping:
      if (state.extensions.includes(Extension.Ping)) return { state, effects: [pong(input.body)] };
      return refuse(input.keyTaken);
    case FrameType.Pong:
      if (state.extensions.includes(Extension.Ping)) return { state, effects: [] };
      return refuse(input.keyTaken);
    default:
      return refuse(input.keyTaken);
  }
}

function clientError(body: Buffer): SessionEffect {
  return {
    kind: 'log',
    level: 'info',
    event: 'client-error',
    message: 'client sent Error',
    fields: { text: body.toString('utf8', 0, 512) },
  };
}

function pong(body: Buffer): SessionEffect {
  return { kind: 'send', frame: encodePong(body.subarray(0, PING_TOKEN_SIZE)) };
}

function onActiveFrame(state: Active, input: FrameInput, env: HandshakeEnv): Transition {
  const helloAllowed = state.helloAllowed;
  const current: Active = helloAllowed ? { ...state, helloAllowed: false } : state;
  const enabled = env.config.extensions;
  const unknown = () => warning(current, `unknown frame type ${frameTypeName(input.type)}`);
  switch (input.type) {
    case FrameType.Keepalive:
    case FrameType.Data:
      return { state: current, effects: [] };
    case FrameType.Error:
      return { state: current, effects: [clientError(input.body)] };
    case FrameType.Register:
      return warning(current, 'Register is only allowed as the first frame');
    case FrameType.Hello: {
      if (enabled.length === 0) return unknown();
      if (!helloAllowed) return warning(current, 'Hello is only allowed right after Register');
      const extensions = negotiate(input.body, enabled);
      const effects: SessionEffect[] = [{ kind: 'send', frame: encodeWelcome(extensions) }];
      let challenge: PendingChallenge | null = null;
      if (extensions.includes(Extension.Auth)) {
        challenge = env.createChallenge();
        effects.push({ kind: 'send', frame: encodeAuthChallenge(challenge) });
      }
      return { state: { ...current, extensions, challenge }, effects };
    }
    case FrameType.AuthProof: {
      if (!enabled.includes(Extension.Auth)) return unknown();
      if (current.challenge === null) return warning(current, 'AuthProof without a challenge');
      if (!env.verifyProof(current.challenge, current.key, input.body)) return proofFailed();
      return { state: { ...current, challenge: null, authenticated: true }, effects: proven };
    }
    case FrameType.Ping:
      if (!current.extensions.includes(Extension.Ping)) return unknown();
      return { state: current, effects: [pong(input.body)] };
    case FrameType.Pong:
      if (!current.extensions.includes(Extension.Ping)) return unknown();
      return { state: current, effects: [] };
    case FrameType.Control:
      if (!current.extensions.includes(Extension.Control)) return unknown();
      return onControl(current, input, env.config);
    default:
      return unknown();
  }
}

function onControl(state: Active, input: FrameInput, config: HandshakeConfig): Transition {
  let message: ReturnType<typeof parseControl>;
  try {
    message = parseControl(input.body);
  } catch (error) {
    return fatal((error as Error).message, state);
  }
  const { bucket, taken } = take(
    { tokens: state.controlTokens, refilledAt: state.controlRefilledAt },
    input.now,
    { perSecond: config.controlPerSecond, burst: config.controlBurst },
  );
  const next = { ...state, controlTokens: bucket.tokens, controlRefilledAt: bucket.refilledAt };
  if (!taken) return { state: next, effects: [{ kind: 'count', counter: 'controlRateLimited' }] };
  return {
    state: next,
    effects: [{ kind: 'control', destination: message.key, payload: message.payload }],
  };
}

function tick(state: OpenState, input: TickInput, config: HandshakeConfig): Transition {
  const now = input.now;
  if (state.phase !== 'active') {
    if (now - state.openedAt > config.handshakeTimeoutMs) {
      return close(
        'handshake timeout',
        'handshake timeout: register (and authenticate) sooner',
        [],
        state.phase === 'new' ? 'debug' : 'info',
      );
    }
    if (state.phase === 'pending') {
      if (now >= state.helloDeadline) return refuse(input.keyTaken);
      return { state, effects: [], wakeAt: state.helloDeadline };
    }
    return { state, effects: [] };
  }
  if (state.extensions.includes(Extension.Ping)) {
    if (now - input.lastReceivedAt > config.pingTimeoutMs) return close('liveness timeout', null);
    if (now - state.lastPingAt >= config.pingIntervalMs) {
      const token = Buffer.allocUnsafe(PING_TOKEN_SIZE);
      token.writeDoubleBE(now);
      return { state: { ...state, lastPingAt: now }, effects: [{ kind: 'send', frame: encodePing(token) }] };
    }
    return { state, effects: [] };
  }
  if (now - input.lastReceivedAt > config.idleTimeoutMs) {
    return close('idle timeout', 'idle timeout: send Keepalive at least every 25 s');
  }
  return { state, effects: [] };
}
