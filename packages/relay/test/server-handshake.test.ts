// The relay connection's protocol machine (src/server/handshake.ts), table-tested without sockets.
import { describe, expect, it } from 'vitest';
import { generateRawKeyPair } from '../src/auth/keys.js';
import { computeProof, createChallenge, verifyProof } from '../src/auth/proof.js';
import {
  Extension,
  encodeControl,
  encodeHello,
  MAX_CONTROL_PAYLOAD,
  parseExtensionList,
} from '../src/codec/extensions.js';
import { encodeRegister, FrameType, frameTypeName } from '../src/codec/frame.js';
import {
  type HandshakeConfig,
  type HandshakeEnv,
  initialSessionState,
  nextSession,
  type SessionEffect,
  type SessionInput,
  type SessionState,
} from '../src/server/handshake.js';

const owner = generateRawKeyPair();
const peer = generateRawKeyPair();
const challenge = createChallenge();
const goodProof = computeProof(
  owner.privateKey,
  owner.publicKey,
  challenge.ephemeralPublicKey,
  challenge.nonce,
);

const baseConfig: HandshakeConfig = {
  requireAuth: false,
  extensions: [Extension.Auth, Extension.Ping, Extension.Control],
  handshakeTimeoutMs: 10_000,
  helloGraceMs: 100,
  idleTimeoutMs: 75_000,
  pingIntervalMs: 2_000,
  pingTimeoutMs: 6_000,
  controlPerSecond: 1,
  controlBurst: 2,
};

function env(config: Partial<HandshakeConfig> = {}): HandshakeEnv {
  return { config: { ...baseConfig, ...config }, createChallenge: () => challenge, verifyProof };
}

const body = (frame: Buffer) => frame.subarray(5);
const frame = (type: number, b: Buffer = Buffer.alloc(0), now = 0, keyTaken = false): SessionInput => ({
  kind: 'frame',
  type,
  body: b,
  now,
  keyTaken,
});
const register = (now = 0, keyTaken = false) =>
  frame(FrameType.Register, body(encodeRegister(owner.publicKey)), now, keyTaken);
const hello = (ids: number[], now = 0, keyTaken = false) =>
  frame(FrameType.Hello, body(encodeHello(ids)), now, keyTaken);
const proof = (p: Buffer, now = 0) => frame(FrameType.AuthProof, p, now);
const control = (payload: Buffer, now = 0) =>
  frame(FrameType.Control, body(encodeControl(peer.publicKey, payload)), now);
const tick = (now: number, lastReceivedAt = now, keyTaken = false): SessionInput => ({
  kind: 'tick',
  now,
  lastReceivedAt,
  keyTaken,
});

/** Effects in a form a table can hold. */
function summary(effect: SessionEffect): string {
  switch (effect.kind) {
    case 'send': {
      const type = effect.frame[4]!;
      if (type === FrameType.Error) return `send Error "${effect.frame.subarray(5).toString()}"`;
      if (type === FrameType.Welcome) return `send Welcome [${parseExtensionList(effect.frame.subarray(5))}]`;
      return `send ${frameTypeName(type)}`;
    }
    case 'route':
      return 'route';
    case 'close':
      return `close ${effect.reason}${effect.errorText === null ? ' (silent)' : ''}`;
    case 'count':
      return `count ${effect.counter}`;
    case 'control':
      return `control ${effect.payload.length}B`;
    case 'log':
      return `log ${effect.event}`;
  }
}

function run(inputs: SessionInput[], e: HandshakeEnv, state: SessionState = initialSessionState(0)) {
  let wakeAt: number | undefined;
  const effects: string[] = [];
  for (const input of inputs) {
    const t = nextSession(state, input, e);
    state = t.state;
    wakeAt = t.wakeAt;
    effects.push(...t.effects.map(summary));
  }
  return { state, effects, wakeAt };
}

describe('relay connection machine: registration', () => {
  const rows: Array<[string, SessionInput[], Partial<HandshakeConfig>, string, string[]]> = [
    ['a free key is routed at once', [register()], {}, 'active', ['route', 'log registered']],
    [
      'the first frame must be Register',
      [frame(FrameType.Keepalive)],
      {},
      'closed',
      ['count protocolErrors', 'close first frame must be Register, got Keepalive'],
    ],
    [
      'a Register body must be a key',
      [frame(FrameType.Register, Buffer.alloc(31))],
      {},
      'closed',
      ['count protocolErrors', 'close Register body must be a 32-byte key, got 31 bytes'],
    ],
    [
      'requireAuth: registered, not routed',
      [register()],
      { requireAuth: true },
      'pending',
      ['log register-pending'],
    ],
    ['a taken key: not routed', [register(0, true)], {}, 'pending', ['log register-pending']],
    [
      'requireAuth, core client (no Hello within the grace): refused with the reason',
      [register(), tick(99), tick(100)],
      { requireAuth: true },
      'closed',
      ['log register-pending', 'close auth required'],
    ],
    [
      'taken key, core client: refused as taken',
      [register(0, true), tick(100, 100, true)],
      {},
      'closed',
      ['log register-pending', 'count refusedRegistrations', 'close key taken'],
    ],
    [
      'pending then Data: refused at once',
      [register(), frame(FrameType.Data, Buffer.alloc(40))],
      { requireAuth: true },
      'closed',
      ['log register-pending', 'close auth required'],
    ],
    [
      'pending then Hello with auth: Welcome and a challenge',
      [register(), hello([Extension.Auth, Extension.Ping])],
      { requireAuth: true },
      'proving',
      ['log register-pending', 'send Welcome [1,2]', 'send AuthChallenge'],
    ],
    [
      'pending then Hello without auth: Welcome, then refused',
      [register(), hello([Extension.Ping])],
      { requireAuth: true },
      'closed',
      ['log register-pending', 'send Welcome [2]', 'close auth required'],
    ],
    [
      'proven: routed and authenticated',
      [register(), hello([Extension.Auth]), proof(goodProof)],
      { requireAuth: true },
      'active',
      [
        'log register-pending',
        'send Welcome [1]',
        'send AuthChallenge',
        'count authSuccesses',
        'send AuthOk',
        'log authenticated',
        'route',
        'log registered',
      ],
    ],
    [
      'a wrong proof closes',
      [register(0, true), hello([Extension.Auth], 0, true), proof(Buffer.alloc(32, 7))],
      {},
      'closed',
      [
        'log register-pending',
        'send Welcome [1]',
        'send AuthChallenge',
        'count authFailures',
        'log auth-failed',
        'close auth failed',
      ],
    ],
    [
      'Data while proving is dropped as unregistered',
      [register(), hello([Extension.Auth]), frame(FrameType.Data, Buffer.alloc(40))],
      { requireAuth: true },
      'proving',
      ['log register-pending', 'send Welcome [1]', 'send AuthChallenge', 'count unregistered'],
    ],
    [
      'a free key may prove voluntarily while routed',
      [register(), hello([Extension.Auth, Extension.Control]), proof(goodProof)],
      {},
      'active',
      [
        'route',
        'log registered',
        'send Welcome [1,3]',
        'send AuthChallenge',
        'count authSuccesses',
        'send AuthOk',
        'log authenticated',
      ],
    ],
    [
      'Hello only right after Register',
      [register(), frame(FrameType.Keepalive), hello([Extension.Ping])],
      {},
      'active',
      [
        'route',
        'log registered',
        'count protocolErrors',
        'send Error "protocol error: Hello is only allowed right after Register"',
      ],
    ],
    [
      'a core-only relay answers Hello as an unknown frame',
      [register(), hello([Extension.Auth])],
      { extensions: [] },
      'active',
      [
        'route',
        'log registered',
        'count protocolErrors',
        'send Error "protocol error: unknown frame type Hello"',
      ],
    ],
    ['the handshake timeout', [tick(10_000), tick(10_001)], {}, 'closed', ['close handshake timeout']],
  ];
  it.each(rows)('%s', (_name, inputs, config, phase, effects) => {
    const result = run(inputs, env(config));
    expect(result.state.phase).toBe(phase);
    expect(result.effects).toEqual(effects);
  });

  it('asks to be woken at the end of the hello grace', () => {
    const result = run([register(5)], env({ requireAuth: true }));
    expect(result.wakeAt).toBe(105);
    expect(run([register(5), tick(50)], env({ requireAuth: true })).wakeAt).toBe(105);
    expect(run([register(5)], env()).wakeAt).toBeUndefined();
  });

  it('refusal texts name the reason', () => {
    const t = nextSession(
      run([register()], env({ requireAuth: true })).state,
      tick(100),
      env({ requireAuth: true }),
    );
    expect(t.effects).toContainEqual(
      expect.objectContaining({
        kind: 'close',
        errorText: expect.stringMatching(/^authentication required/),
      }),
    );
  });
});

describe('relay connection machine: garbage is refused cheaply', () => {
  const malformed = (now = 0): SessionInput => ({
    kind: 'malformed',
    message: 'frame length 0 outside 1..65536',
    now,
  });
  /** The log level of every close the machine decided on. */
  const closeLevels = (inputs: SessionInput[], e: HandshakeEnv) => {
    let state = initialSessionState(0);
    const levels: string[] = [];
    for (const input of inputs) {
      const t = nextSession(state, input, e);
      state = t.state;
      for (const effect of t.effects) if (effect.kind === 'close') levels.push(effect.level);
    }
    return levels;
  };
  const rows: Array<[string, SessionInput[], Partial<HandshakeConfig>, string[], string]> = [
    [
      'lost framing before registering: cut at once, no Error frame, quiet',
      [malformed()],
      {},
      ['count protocolErrors', 'close bad frame length (silent)'],
      'debug',
    ],
    [
      'lost framing once registered: told why, logged',
      [register(), malformed()],
      {},
      ['route', 'log registered', 'count protocolErrors', 'close bad frame length'],
      'info',
    ],
    [
      'lost framing while pending a proof: told why, logged',
      [register(), malformed()],
      { requireAuth: true },
      ['log register-pending', 'count protocolErrors', 'close bad frame length'],
      'info',
    ],
    [
      'a well-framed wrong first frame: told why (it speaks the framing), quiet',
      [frame(0x42, Buffer.alloc(9))],
      {},
      ['count protocolErrors', 'close first frame must be Register, got 0x42'],
      'debug',
    ],
    [
      'never registered within the handshake timeout: quiet',
      [tick(10_001)],
      {},
      ['close handshake timeout'],
      'debug',
    ],
    [
      'registered but never proven within the handshake timeout: logged',
      [register(), hello([Extension.Auth]), tick(10_001)],
      { requireAuth: true },
      ['log register-pending', 'send Welcome [1]', 'send AuthChallenge', 'close handshake timeout'],
      'info',
    ],
  ];
  it.each(rows)('%s', (_name, inputs, config, effects, level) => {
    expect(run(inputs, env(config)).effects).toEqual(effects);
    expect(closeLevels(inputs, env(config))).toEqual([level]);
  });

  it('a closed connection ignores a late framing error', () => {
    const t = nextSession({ phase: 'closed', reason: 'x' }, malformed(), env());
    expect(t.effects).toEqual([]);
  });
});

describe('relay connection machine: liveness', () => {
  const pinged = run([register(), hello([Extension.Ping])], env()).state;
  const core = run([register()], env()).state;
  const rows: Array<[string, SessionState, SessionInput, string, string[]]> = [
    ['ping due', pinged, tick(2_000, 1_500), 'active', ['send Ping']],
    ['ping not yet due', pinged, tick(1_999, 1_500), 'active', []],
    ['silent ping connection is dead', pinged, tick(6_001, 0), 'closed', ['close liveness timeout (silent)']],
    ['core connection within idle timeout', core, tick(75_000, 0), 'active', []],
    ['core connection idle', core, tick(75_001, 0), 'closed', ['close idle timeout']],
    ['a closed connection ignores everything', { phase: 'closed', reason: 'x' }, tick(1e9, 0), 'closed', []],
  ];
  it.each(rows)('%s', (_name, state, input, phase, effects) => {
    const t = nextSession(state, input, env());
    expect(t.state.phase).toBe(phase);
    expect(t.effects.map(summary)).toEqual(effects);
  });
});

describe('relay connection machine: control extension', () => {
  const withControl = run([register(), hello([Extension.Control])], env()).state;
  const withoutControl = run([register(), hello([Extension.Ping])], env()).state;
  const rows: Array<[string, SessionState, SessionInput[], string, string[]]> = [
    ['forwarded', withControl, [control(Buffer.from('hi'))], 'active', ['control 2B']],
    [
      'largest payload',
      withControl,
      [control(Buffer.alloc(MAX_CONTROL_PAYLOAD))],
      'active',
      ['control 1024B'],
    ],
    [
      'not negotiated: an unknown frame',
      withoutControl,
      [control(Buffer.from('hi'))],
      'active',
      ['count protocolErrors', 'send Error "protocol error: unknown frame type Control"'],
    ],
    [
      'shorter than a key: closes the connection',
      withControl,
      [frame(FrameType.Control, Buffer.alloc(31))],
      'closed',
      [
        'count protocolErrors',
        'close Control body must be a 32-byte key and at most 1024 payload bytes, got 31 bytes',
      ],
    ],
    [
      'oversized payload: closes the connection',
      withControl,
      [frame(FrameType.Control, Buffer.alloc(32 + MAX_CONTROL_PAYLOAD + 1))],
      'closed',
      [
        'count protocolErrors',
        'close Control body must be a 32-byte key and at most 1024 payload bytes, got 1057 bytes',
      ],
    ],
    [
      'rate limited beyond the burst, refilled over time',
      withControl,
      [
        control(Buffer.from('1')),
        control(Buffer.from('2')),
        control(Buffer.from('3')),
        control(Buffer.from('4'), 999),
        control(Buffer.from('5'), 1_000),
      ],
      'active',
      ['control 1B', 'control 1B', 'count controlRateLimited', 'count controlRateLimited', 'control 1B'],
    ],
    [
      'not routed yet: a pending connection cannot send Control',
      run([register()], env({ requireAuth: true })).state,
      [control(Buffer.from('x'))],
      'closed',
      ['close auth required'],
    ],
  ];
  it.each(rows)('%s', (_name, state, inputs, phase, effects) => {
    const result = run(inputs, env(), state);
    expect(result.state.phase).toBe(phase);
    expect(result.effects).toEqual(effects);
  });
});
