// The client's handshake machine (src/client/handshake.ts), table-tested without sockets.
import { describe, expect, it } from 'vitest';
import { generateRawKeyPair } from '../src/auth/keys.js';
import { createChallenge, verifyProof } from '../src/auth/proof.js';
import {
  type ClientHandshakeConfig,
  type ClientHandshakeInput,
  type ClientHandshakeState,
  ECHO_PROBE,
  nextClient,
  startClient,
} from '../src/client/handshake.js';
import { FrameDecoder } from '../src/codec/decoder.js';
import {
  Extension,
  encodeAuthChallenge,
  encodeAuthOk,
  encodePing,
  encodeWelcome,
  parseExtensionList,
} from '../src/codec/extensions.js';
import { encodeData, encodeError, encodeKeepalive, FrameType, frameTypeName } from '../src/codec/frame.js';

const self = generateRawKeyPair();
const other = generateRawKeyPair();
const config: ClientHandshakeConfig = {
  publicKey: self.publicKey,
  privateKey: self.privateKey,
  offer: [Extension.Auth, Extension.Ping, Extension.Control],
  helloTimeoutMs: 3_000,
  authTimeoutMs: 10_000,
};

const input = (frame: Buffer, now = 0): ClientHandshakeInput => ({
  kind: 'frame',
  type: frame[4]!,
  body: frame.subarray(5),
  now,
});
const awaitingReply: ClientHandshakeState = { phase: 'awaiting-reply', deadline: 3_000 };
const awaitingAuth: ClientHandshakeState = {
  phase: 'awaiting-auth',
  extensions: [Extension.Auth, Extension.Ping],
  deadline: 10_000,
};

/** Frames the effects write, by type name, and what they deliver. */
function summary(effects: ReturnType<typeof nextClient>['effects']): string[] {
  const out: string[] = [];
  for (const effect of effects) {
    if (effect.kind === 'write') {
      for (const frame of new FrameDecoder().decode(effect.frame))
        out.push(`write ${frameTypeName(frame.type)}`);
    } else if (effect.kind === 'deliver') {
      out.push(`deliver ${effect.datagram.toString()}`);
    } else {
      out.push(`log ${effect.event}`);
    }
  }
  return out;
}

describe('client handshake: opening', () => {
  it('a core-only client is ready right after Register', () => {
    const t = startClient({ ...config, offer: [] }, 0);
    expect(t.state).toEqual({ phase: 'ready', extensions: [], authenticated: false, via: 'core-only' });
    expect(summary(t.effects)).toEqual(['write Register']);
  });

  it('an extension client sends Register, Hello and the echo probe in one write', () => {
    const t = startClient(config, 50);
    expect(t.state).toEqual({ phase: 'awaiting-reply', deadline: 3_050 });
    expect(t.wakeAt).toBe(3_050);
    expect(t.effects).toHaveLength(1);
    const frames = new FrameDecoder().decode((t.effects[0] as { frame: Buffer }).frame);
    expect(frames.map((f) => f.type)).toEqual([FrameType.Register, FrameType.Hello, FrameType.Data]);
    expect(parseExtensionList(frames[1]!.body)).toEqual([Extension.Auth, Extension.Ping, Extension.Control]);
    expect(frames[2]!.body.subarray(0, 32)).toEqual(self.publicKey);
    expect(frames[2]!.body.subarray(32)).toEqual(ECHO_PROBE);
    // Never a valid WireGuard message (types 1..4).
    expect(ECHO_PROBE[0]).toBe(0);
  });
});

describe('client handshake: the first reply decides', () => {
  const rows: Array<[string, ClientHandshakeState, ClientHandshakeInput, ClientHandshakeState, string[]]> = [
    [
      'Welcome without auth: ready with what both know',
      awaitingReply,
      input(encodeWelcome([Extension.Ping, Extension.Control, 0x7f])),
      {
        phase: 'ready',
        extensions: [Extension.Ping, Extension.Control],
        authenticated: false,
        via: 'welcome',
      },
      [],
    ],
    [
      'Welcome with auth: wait for the challenge',
      awaitingReply,
      input(encodeWelcome([Extension.Auth, Extension.Ping]), 20),
      { phase: 'awaiting-auth', extensions: [Extension.Auth, Extension.Ping], deadline: 10_020 },
      [],
    ],
    [
      'an Error (a core relay rejecting Hello): core, at once',
      awaitingReply,
      input(encodeError('protocol error: unknown frame type Hello')),
      { phase: 'ready', extensions: [], authenticated: false, via: 'core-reply' },
      ['log relay-error'],
    ],
    [
      'our probe echoed back (a core relay ignoring Hello): core, at once, probe consumed',
      awaitingReply,
      input(encodeData(self.publicKey, ECHO_PROBE)),
      { phase: 'ready', extensions: [], authenticated: false, via: 'core-reply' },
      [],
    ],
    [
      'Data from a peer first: core, and the datagram is delivered',
      awaitingReply,
      input(encodeData(other.publicKey, Buffer.from('wg'))),
      { phase: 'ready', extensions: [], authenticated: false, via: 'core-reply' },
      ['deliver wg'],
    ],
    [
      'any other frame first: core',
      awaitingReply,
      input(encodeKeepalive()),
      { phase: 'ready', extensions: [], authenticated: false, via: 'core-reply' },
      [],
    ],
    [
      'silence before the deadline: keep waiting',
      awaitingReply,
      { kind: 'tick', now: 2_999 },
      awaitingReply,
      [],
    ],
    [
      'silence until the deadline: core',
      awaitingReply,
      { kind: 'tick', now: 3_000 },
      { phase: 'ready', extensions: [], authenticated: false, via: 'hello-timeout' },
      ['log hello-timeout'],
    ],
    [
      'AuthOk: ready and authenticated',
      awaitingAuth,
      input(encodeAuthOk()),
      { phase: 'ready', extensions: [Extension.Auth, Extension.Ping], authenticated: true, via: 'auth-ok' },
      [],
    ],
    [
      'a Ping while proving is answered',
      awaitingAuth,
      input(encodePing(Buffer.alloc(8))),
      awaitingAuth,
      ['write Pong'],
    ],
    [
      'an Error while proving is logged; the relay closes',
      awaitingAuth,
      input(encodeError('authentication failed')),
      awaitingAuth,
      ['log relay-error'],
    ],
    [
      'a malformed challenge fails the attempt',
      awaitingAuth,
      input(Buffer.from([0, 0, 0, 4, FrameType.AuthChallenge, 1, 2, 3])),
      { phase: 'failed', reason: 'AuthChallenge body must be 64 bytes, got 3' },
      [],
    ],
    [
      'no AuthOk in time fails the attempt',
      awaitingAuth,
      { kind: 'tick', now: 10_000 },
      { phase: 'failed', reason: 'auth timeout' },
      [],
    ],
  ];
  it.each(rows)('%s', (_name, state, step, expected, effects) => {
    const t = nextClient(state, step, config);
    expect(t.state).toEqual(expected);
    expect(summary(t.effects)).toEqual(effects);
  });

  it('answers the challenge with a proof the relay accepts', () => {
    const challenge = createChallenge();
    const t = nextClient(awaitingAuth, input(encodeAuthChallenge(challenge)), config);
    expect(t.state).toBe(awaitingAuth);
    const [proofFrame] = new FrameDecoder().decode((t.effects[0] as { frame: Buffer }).frame);
    expect(proofFrame!.type).toBe(FrameType.AuthProof);
    expect(verifyProof(challenge, self.publicKey, proofFrame!.body)).toBe(true);
  });

  it('ready and failed are final', () => {
    const ready: ClientHandshakeState = {
      phase: 'ready',
      extensions: [],
      authenticated: false,
      via: 'welcome',
    };
    expect(nextClient(ready, input(encodeWelcome([1])), config)).toEqual({ state: ready, effects: [] });
  });
});
