/**
 * The relay program's contract, run against every implementation (implementations.ts): each is started as the
 * process a user runs, with the same flags, and spoken to over loopback TCP and HTTP only. What one program does
 * here the other must do the same way: the frames and error texts on the wire, the metric names, the log events,
 * the flags and exit codes. Timing details that need a fake clock (idle and handshake timeouts, the penalty's
 * refill) stay in each implementation's unit tests.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { keyToBase64 } from '../../src/auth/keys.js';
import { computeProof } from '../../src/auth/proof.js';
import { RelayClient } from '../../src/client/client.js';
import {
  Extension,
  encodeAuthProof,
  encodeControl,
  encodeHello,
  encodePing,
  parseAuthChallenge,
} from '../../src/codec/extensions.js';
import {
  encodeData,
  encodeFrame,
  encodeKeepalive,
  encodeRegister,
  FrameType,
} from '../../src/codec/frame.js';
import { errorTexts, eventually, RawPeer } from '../helpers/raw-peer.js';
import { keyPair } from '../helpers/relay.js';
import { IMPLEMENTATIONS, missing } from './implementations.js';
import { type RelayProcess, startRelayProcess } from './relay-process.js';

/** Starting a process and its first round trips at a load of 10 on the shared 2-core machine. */
const TIMEOUT_MS = 30_000;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function peer(relay: RelayProcess): Promise<RawPeer> {
  const p = await RawPeer.connect(relay.port);
  cleanups.push(() => p.destroy());
  return p;
}

/** A raw peer registered (unproven) under a fresh key. */
async function registered(relay: RelayProcess, key = keyPair().publicKey) {
  const p = await peer(relay);
  p.write(encodeRegister(key));
  return { p, key };
}

/** Polls an asynchronous condition (a scrape) until it holds. */
async function eventuallyAsync(predicate: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const dataFrames = (p: RawPeer) => p.frames.filter((f) => f.type === FrameType.Data);

/** Registers `pair` with Hello(auth, ...) and answers the challenge; resolves once AuthOk arrived. */
async function proven(relay: RelayProcess, pair = keyPair(), offer: number[] = [Extension.Auth]) {
  const p = await peer(relay);
  p.write(encodeRegister(pair.publicKey), encodeHello(offer));
  const [challengeFrame] = (await p.until((f) => f.some((x) => x.type === FrameType.AuthChallenge))).filter(
    (f) => f.type === FrameType.AuthChallenge,
  );
  const challenge = parseAuthChallenge(challengeFrame!.body);
  p.write(
    encodeAuthProof(
      computeProof(pair.privateKey, pair.publicKey, challenge.ephemeralPublicKey, challenge.nonce),
    ),
  );
  await p.until((f) => f.some((x) => x.type === FrameType.AuthOk));
  return { p, pair };
}

describe.each(IMPLEMENTATIONS)('wirekube-relay ($name)', (implementation) => {
  const start = async (flags: string[] = []) => {
    const reason = missing(implementation);
    if (reason !== null) throw new Error(reason);
    return startRelayProcess(implementation, flags, cleanups);
  };

  it(
    'logs a started line and serves /healthz and /readyz',
    async () => {
      const relay = await start();
      expect(relay.lines.at(-1)).toMatchObject({
        component: 'wirekube-relay',
        event: 'started',
        level: 30,
        requireAuth: false,
        extensions: true,
      });
      expect(relay.port).toBeGreaterThan(0);
      expect((await relay.http('/healthz')).status).toBe(200);
      const ready = await relay.http('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready' });
      expect((await relay.http('/nothing')).status).toBe(404);
    },
    TIMEOUT_MS,
  );

  it(
    'forwards Data with the source key, byte-exact, from reads cut anywhere, and counts it',
    async () => {
      const relay = await start();
      const a = await registered(relay);
      const b = await registered(relay);
      await eventuallyAsync(async () => (await relay.metric('wirekube_relay_registered_keys')) === 2);
      const payloads = [Buffer.from('first'), Buffer.alloc(1400, 7), Buffer.from([0, 1, 2])];
      const bytes = Buffer.concat(payloads.map((d) => encodeData(b.key, d)));
      // One byte per write: every frame boundary, and the inside of every header, falls between two reads.
      for (const byte of bytes) a.p.socket.write(Buffer.of(byte));
      await b.p.until(() => dataFrames(b.p).length === 3);
      for (const [i, frame] of dataFrames(b.p).entries()) {
        expect(frame.body.subarray(0, 32).equals(a.key)).toBe(true);
        expect(frame.body.subarray(32).equals(payloads[i]!)).toBe(true);
      }
      expect(await relay.metric('wirekube_relay_frames_forwarded_total')).toBe(3);
      expect(await relay.metric('wirekube_relay_bytes_forwarded_total')).toBe(bytes.length);
      expect(await relay.metric('wirekube_relay_connections')).toBe(2);
      expect(await relay.metric('wirekube_relay_connections_accepted_total')).toBe(2);
    },
    TIMEOUT_MS,
  );

  it(
    'drops Data to its sender (self), to an unknown key (no_route, one Error a second) and before Register',
    async () => {
      const relay = await start();
      const a = await registered(relay);
      const nobody = keyPair().publicKey;
      a.p.write(encodeData(a.key, Buffer.from('me')), encodeData(nobody, Buffer.from('x')));
      a.p.write(encodeData(nobody, Buffer.from('y')));
      await a.p.until((f) => errorTexts(f).length > 0);
      await eventuallyAsync(
        async () => (await relay.metric('wirekube_relay_dropped_frames_total{reason="no_route"}')) === 2,
      );
      expect(errorTexts(a.p.frames)).toEqual([`no route to ${keyToBase64(nobody)}`]);
      expect(dataFrames(a.p)).toEqual([]);
      expect(await relay.metric('wirekube_relay_dropped_frames_total{reason="self"}')).toBe(1);
      expect(a.p.closed).toBe(false);

      // Data as the first frame breaks the protocol: that connection closes, silently (nothing was registered).
      const early = await peer(relay);
      early.write(encodeData(a.key, Buffer.from('z')));
      await early.untilClosed();
      expect(dataFrames(a.p)).toEqual([]);
      expect(await relay.metric('wirekube_relay_protocol_errors_total')).toBe(1);
    },
    TIMEOUT_MS,
  );

  it(
    'closes only the connection whose frame length is out of range',
    async () => {
      const relay = await start();
      const a = await registered(relay);
      const b = await registered(relay);
      const bad = await registered(relay);
      await eventuallyAsync(async () => (await relay.metric('wirekube_relay_registered_keys')) === 3);
      bad.p.socket.write(Buffer.from([0, 1, 0, 1, 2])); // length 65537
      await bad.p.untilClosed();
      expect(errorTexts(bad.p.frames)[0]).toMatch(/^protocol error: /);
      const zero = await registered(relay);
      zero.p.socket.write(Buffer.from([0, 0, 0, 0]));
      await zero.p.untilClosed();
      a.p.write(encodeData(b.key, Buffer.from('still here')));
      await b.p.until(() => dataFrames(b.p).length === 1);
      expect(await relay.metric('wirekube_relay_registered_keys')).toBe(2);
      expect(await relay.metric('wirekube_relay_protocol_errors_total')).toBe(2);
    },
    TIMEOUT_MS,
  );

  it(
    'answers Hello with the offered extensions it enables, ignoring unknown ids, and ping with Pong',
    async () => {
      const relay = await start();
      const p = await peer(relay);
      p.write(encodeRegister(keyPair().publicKey), encodeHello([0x7f, Extension.Ping, Extension.Control]));
      const [welcome] = (await p.until((f) => f.length > 0)).filter((f) => f.type === FrameType.Welcome);
      expect([...welcome!.body]).toEqual([Extension.Ping, Extension.Control]);
      const token = Buffer.from('01234567');
      p.write(encodePing(token));
      const pong = (await p.until((f) => f.some((x) => x.type === FrameType.Pong))).find(
        (f) => f.type === FrameType.Pong,
      );
      expect(pong!.body.equals(token)).toBe(true);
      // The relay pings too, every 2 s once ping is agreed, so a dead TCP path is noticed.
      await p.until((f) => f.some((x) => x.type === FrameType.Ping), 6_000);
    },
    TIMEOUT_MS,
  );

  it(
    'with --no-extensions answers Hello with an Error and forwards core frames',
    async () => {
      const relay = await start(['--no-extensions']);
      expect(relay.lines.at(-1)).toMatchObject({ event: 'started', extensions: false });
      const a = await peer(relay);
      const ka = keyPair().publicKey;
      a.write(encodeRegister(ka), encodeHello([Extension.Auth, Extension.Ping]));
      await a.until((f) => f.length > 0);
      expect(a.frames.map((f) => f.type)).toEqual([FrameType.Error]);
      const b = await registered(relay);
      await eventuallyAsync(async () => (await relay.metric('wirekube_relay_registered_keys')) === 2);
      a.write(encodeKeepalive(), encodeData(b.key, Buffer.from('core')));
      await b.p.until(() => dataFrames(b.p).length === 1);
      expect(dataFrames(b.p)[0]!.body.subarray(0, 32).equals(ka)).toBe(true);
    },
    TIMEOUT_MS,
  );

  it(
    'proves key ownership; a proven Register replaces the holder, an unproven one is refused',
    async () => {
      const relay = await start();
      const pair = keyPair();
      const holder = await registered(relay, pair.publicKey);
      const other = await registered(relay);
      await eventuallyAsync(async () => (await relay.metric('wirekube_relay_registered_keys')) === 2);

      const thief = await registered(relay, pair.publicKey);
      await thief.p.untilClosed();
      expect(errorTexts(thief.p.frames)[0]).toMatch(/^key already registered/);
      expect(holder.p.closed).toBe(false);

      const wrong = await peer(relay);
      wrong.write(encodeRegister(pair.publicKey), encodeHello([Extension.Auth]));
      await wrong.until((f) => f.some((x) => x.type === FrameType.AuthChallenge));
      wrong.write(encodeAuthProof(Buffer.alloc(32, 1)));
      await wrong.untilClosed();
      expect(errorTexts(wrong.frames)[0]).toMatch(/^authentication failed/);
      expect(holder.p.closed).toBe(false);

      const owner = await proven(relay, pair);
      await holder.p.untilClosed();
      expect(errorTexts(holder.p.frames)[0]).toMatch(/^replaced by a newer connection/);
      other.p.write(encodeData(pair.publicKey, Buffer.from('to the owner')));
      await owner.p.until(() => dataFrames(owner.p).length === 1);
      expect(await relay.metric('wirekube_relay_auth_total{result="ok"}')).toBe(1);
      expect(await relay.metric('wirekube_relay_auth_total{result="failed"}')).toBe(1);
      expect(await relay.metric('wirekube_relay_registrations_total{outcome="replaced"}')).toBe(1);
      expect(
        await relay.metric('wirekube_relay_registrations_total{outcome="refused"}'),
      ).toBeGreaterThanOrEqual(1);
    },
    TIMEOUT_MS,
  );

  it(
    'with --require-auth routes only proven keys and closes a silent core client after its grace',
    async () => {
      const relay = await start(['--require-auth']);
      expect(relay.lines.at(-1)).toMatchObject({ event: 'started', requireAuth: true });
      const core = await registered(relay);
      await core.p.untilClosed();
      expect(errorTexts(core.p.frames)[0]).toMatch(/^authentication required/);
      const a = await proven(relay);
      const b = await proven(relay);
      a.p.write(encodeData(b.pair.publicKey, Buffer.from('proven')));
      await b.p.until(() => dataFrames(b.p).length === 1);
      expect(await relay.metric('wirekube_relay_registered_keys')).toBe(2);
    },
    TIMEOUT_MS,
  );

  it(
    'routes Control only between connections that agreed to it, and closes on an oversized one',
    async () => {
      const relay = await start();
      const offer = [Extension.Auth, Extension.Ping, Extension.Control];
      const a = await proven(relay, keyPair(), offer);
      const b = await proven(relay, keyPair(), offer);
      const core = await registered(relay);
      await eventuallyAsync(async () => (await relay.metric('wirekube_relay_registered_keys')) === 3);
      a.p.write(encodeControl(b.pair.publicKey, Buffer.from('punch at 12')));
      a.p.write(encodeControl(core.key, Buffer.from('not for you')));
      const control = (await b.p.until((f) => f.some((x) => x.type === FrameType.Control))).find(
        (f) => f.type === FrameType.Control,
      )!;
      expect(control.body.subarray(0, 32).equals(a.pair.publicKey)).toBe(true);
      expect(control.body.subarray(32).toString()).toBe('punch at 12');
      await eventuallyAsync(
        async () => (await relay.metric('wirekube_relay_dropped_frames_total{reason="no_control"}')) === 1,
      );
      expect(await relay.metric('wirekube_relay_control_forwarded_total')).toBe(1);
      expect(core.p.frames.filter((f) => f.type === FrameType.Control)).toEqual([]);

      const body = Buffer.concat([b.pair.publicKey, Buffer.alloc(1025)]);
      a.p.write(encodeFrame(FrameType.Control, body));
      await a.p.untilClosed();
      expect(b.p.closed).toBe(false);
    },
    TIMEOUT_MS,
  );

  it(
    'interoperates with the project client: ready, extensions agreed, key proven, datagrams both ways',
    async () => {
      const relay = await start(['--require-auth']);
      const [ka, kb] = [keyPair(), keyPair()];
      const client = (pair: typeof ka) => {
        const c = new RelayClient({
          host: '127.0.0.1',
          port: relay.port,
          publicKey: pair.publicKey,
          privateKey: pair.privateKey,
        });
        cleanups.push(() => c.close());
        c.start();
        return c;
      };
      const a = client(ka);
      const b = client(kb);
      const got: string[] = [];
      b.onData((source, datagram) => {
        if (Buffer.from(source).equals(ka.publicKey)) got.push(Buffer.from(datagram).toString());
      });
      await eventually(() => a.ready && b.ready, 10_000);
      expect(a.authenticated).toBe(true);
      expect([...a.extensions].sort()).toEqual([Extension.Auth, Extension.Ping, Extension.Control]);
      await eventually(() => {
        a.send(kb.publicKey, Buffer.from('\x04hello'));
        return got.length > 0;
      });
      expect(got[0]).toBe('\x04hello');
    },
    TIMEOUT_MS,
  );

  it(
    'refuses new connections from a source that broke the protocol too often, and keeps its open ones',
    async () => {
      const relay = await start(['--source-penalty-burst', '2', '--source-penalty-per-second', '1']);
      const a = await registered(relay);
      const b = await registered(relay);
      await eventuallyAsync(async () => (await relay.metric('wirekube_relay_registered_keys')) === 2);
      // A refused connection is reset as it arrives: the client sees the reset at connect or as the first thing
      // after it, depending on who is quicker; both are refusals.
      const garbageConnection = async () => {
        try {
          const garbage = await peer(relay);
          garbage.socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
          await garbage.untilClosed();
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') throw error;
        }
      };
      // Two strikes, then every connection is refused until a strike is forgiven (1 a second).
      for (let i = 0; i < 4; i++) await garbageConnection();
      await eventuallyAsync(
        async () => ((await relay.metric('wirekube_relay_connections_penalized_total')) ?? 0) >= 1,
      );
      expect(await relay.metric('wirekube_relay_connections_penalized_total')).toBeGreaterThanOrEqual(1);
      expect(relay.lines.some((l) => l.event === 'source-penalized' && l.source === '127.0.0.1')).toBe(true);
      a.p.write(encodeData(b.key, Buffer.from('unaffected')));
      await b.p.until(() => dataFrames(b.p).length === 1);
    },
    TIMEOUT_MS,
  );

  it(
    'bounds the queue of a destination that does not read, and keeps forwarding to the others',
    async () => {
      const relay = await start(['--max-queue-bytes', '65540']);
      const a = await registered(relay);
      const stuck = await registered(relay);
      const c = await registered(relay);
      await eventuallyAsync(async () => (await relay.metric('wirekube_relay_registered_keys')) === 3);
      stuck.p.socket.pause();
      const chunk = Buffer.concat(
        Array.from({ length: 64 }, () => encodeData(stuck.key, Buffer.alloc(1400))),
      );
      // Enough to fill the kernel's buffers on both sides of the stuck reader and then the relay's queue.
      for (let i = 0; i < 400; i++) {
        if (!a.p.socket.write(chunk)) await new Promise((resolve) => a.p.socket.once('drain', resolve));
      }
      await eventuallyAsync(
        async () =>
          ((await relay.metric('wirekube_relay_dropped_frames_total{reason="queue_full"}')) ?? 0) > 0,
        15_000,
      );
      a.p.write(encodeData(c.key, Buffer.from('past the jam')));
      await c.p.until(() => dataFrames(c.p).length === 1, 5_000);
      expect(await relay.metric('wirekube_relay_queue_bytes{aggregate="max"}')).toBeLessThanOrEqual(
        65540 * 2,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'closes a connection that never registers after the 10 s handshake timeout',
    async () => {
      const relay = await start();
      const silent = await peer(relay);
      const opened = Date.now();
      await silent.untilClosed(20_000);
      const seconds = (Date.now() - opened) / 1000;
      expect(seconds).toBeGreaterThanOrEqual(9);
      expect(seconds).toBeLessThan(20);
      expect(await relay.metric('wirekube_relay_connections')).toBe(0);
    },
    TIMEOUT_MS,
  );

  it(
    'exposes the same metric families',
    async () => {
      const relay = await start();
      const text = await (await relay.http('/metrics')).text();
      const families = new Set(
        text
          .split('\n')
          .filter((line) => line.startsWith('# TYPE wirekube_relay_'))
          .map((line) => line.split(' ').slice(2, 4).join(' ')),
      );
      for (const family of [
        'wirekube_relay_connections gauge',
        'wirekube_relay_connections_accepted_total counter',
        'wirekube_relay_connections_penalized_total counter',
        'wirekube_relay_registered_keys gauge',
        'wirekube_relay_frames_forwarded_total counter',
        'wirekube_relay_bytes_forwarded_total counter',
        'wirekube_relay_control_forwarded_total counter',
        'wirekube_relay_dropped_frames_total counter',
        'wirekube_relay_protocol_errors_total counter',
        'wirekube_relay_auth_total counter',
        'wirekube_relay_registrations_total counter',
        'wirekube_relay_queue_bytes gauge',
      ]) {
        expect(families).toContain(family);
      }
      for (const reason of [
        'no_route',
        'queue_full',
        'unregistered',
        'malformed',
        'self',
        'rate_limited',
        'no_control',
      ]) {
        expect(text).toContain(`wirekube_relay_dropped_frames_total{reason="${reason}"} 0`);
      }
      expect(text).toMatch(/^wirekube_relay_process_process_cpu_seconds_total /m);
      expect(text).toMatch(/^wirekube_relay_process_process_resident_memory_bytes /m);
    },
    TIMEOUT_MS,
  );

  it(
    'on SIGTERM tells its clients, closes them and exits 0',
    async () => {
      const relay = await start(['--shutdown-grace-seconds', '5']);
      const a = await registered(relay);
      await eventuallyAsync(async () => (await relay.metric('wirekube_relay_registered_keys')) === 1);
      const code = await relay.stop('SIGTERM');
      expect(code).toBe(0);
      await a.p.untilClosed();
      expect(errorTexts(a.p.frames)).toEqual(['relay shutting down']);
      expect(relay.lines.map((l) => l.event)).toContain('stopped');
    },
    TIMEOUT_MS,
  );

  it(
    'answers --help with the usage and a bad flag with exit 2 naming it',
    async () => {
      const reason = missing(implementation);
      if (reason !== null) throw new Error(reason);
      const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
        const [program, ...rest] = implementation.command(args);
        const child = spawn(program!, rest, {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ...env },
        });
        cleanups.push(() => child.kill('SIGKILL'));
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => {
          stdout += c.toString();
        });
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString();
        });
        // 'close', not 'exit': the output is all read only once the pipes have closed.
        const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
        return { code, stdout, stderr };
      };
      const help = await run(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^Usage: wirekube-relay/);
      for (const flag of [
        '--listen-address',
        '--require-auth',
        '--no-extensions',
        '--source-penalty-burst',
      ]) {
        expect(help.stdout).toContain(flag);
      }
      const bad = await run(['--port', 'x']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/port must be an integer in 0\.\.65535, got 'x'/);
      expect(bad.stderr).toContain('Usage: wirekube-relay');
      const badEnv = await run([], { RELAY_REQUIRE_AUTH: 'maybe' });
      expect(badEnv.code).toBe(2);
      expect(badEnv.stderr).toMatch(/RELAY_REQUIRE_AUTH must be true or false, got 'maybe'/);
      const unknown = await run(['--colour']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('--colour');
      const conflict = await run(['--require-auth', '--no-extensions']);
      expect(conflict.code).toBe(2);
      expect(conflict.stderr).toMatch(/--require-auth needs the extensions/);
    },
    TIMEOUT_MS,
  );
});
