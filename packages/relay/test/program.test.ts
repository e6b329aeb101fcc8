import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeData, encodeRegister, FrameType } from '../src/codec/frame.js';
import { parseConfig } from '../src/program/config.js';
import { type RunningRelay, runRelay } from '../src/program/run.js';
import { eventually, RawPeer } from './helpers/raw-peer.js';
import { keyPair } from './helpers/relay.js';

/** Starting a child through tsx took over 5 s (vitest's default) at a load of 11 on the shared 2-core machine. */
const PROCESS_TEST_TIMEOUT_MS = 30_000;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(): Promise<RunningRelay> {
  const config = parseConfig(['--port', '0', '--http-port', '0', '--listen-address', '127.0.0.1'], {})!;
  const relay = await runRelay({ ...config, httpAddress: '127.0.0.1' }, pino({ level: 'silent' }));
  cleanups.push(() => relay.stop());
  return relay;
}

describe('wirekube-relay program', () => {
  it('serves /healthz, /readyz and /metrics from its own registry', async () => {
    const relay = await start();
    const base = `http://127.0.0.1:${relay.httpPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready' });

    const [a, b] = [keyPair(), keyPair()];
    const pa = await RawPeer.connect(relay.port);
    const pb = await RawPeer.connect(relay.port);
    cleanups.push(
      () => pa.destroy(),
      () => pb.destroy(),
    );
    pa.write(encodeRegister(a.publicKey));
    pb.write(encodeRegister(b.publicKey));
    await eventually(() => relay.server.registeredKeyCount === 2);
    pa.write(encodeData(b.publicKey, Buffer.alloc(100)), encodeData(keyPair().publicKey, Buffer.alloc(1)));
    await pb.until((f) => f.some((x) => x.type === FrameType.Data));
    await eventually(() => relay.server.stats.drops.no_route === 1);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('wirekube_relay_connections 2');
    expect(metrics).toContain('wirekube_relay_registered_keys 2');
    expect(metrics).toContain('wirekube_relay_connections_penalized_total 0');
    expect(metrics).toContain('wirekube_relay_frames_forwarded_total 1');
    expect(metrics).toContain(`wirekube_relay_bytes_forwarded_total ${5 + 32 + 100}`);
    expect(metrics).toContain('wirekube_relay_dropped_frames_total{reason="no_route"} 1');
    expect(metrics).toContain('wirekube_relay_queue_bytes{aggregate="max"}');
    expect(metrics).toContain('wirekube_relay_process_');
  });

  it('stops gracefully: not ready, clients told, sockets closed', async () => {
    const relay = await start();
    const p = await RawPeer.connect(relay.port);
    p.write(encodeRegister(keyPair().publicKey));
    await eventually(() => relay.server.registeredKeyCount === 1);
    await relay.stop();
    await p.untilClosed();
    expect(p.frames.map((f) => f.body.toString())).toEqual(['relay shutting down']);
  });

  it(
    'runs as a process, logs JSON lines and exits 0 on SIGTERM',
    async () => {
      const main = join(dirname(fileURLToPath(import.meta.url)), '../src/main.ts');
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          main,
          '--port',
          '0',
          '--http-port',
          '0',
          '--listen-address',
          '127.0.0.1',
          '--http-address',
          '127.0.0.1',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      cleanups.push(() => child.kill('SIGKILL'));
      const lines: Record<string, unknown>[] = [];
      const reader = createInterface({ input: child.stdout });
      for await (const line of reader) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        if (lines.at(-1)!.event === 'started') break;
      }
      expect(lines.at(-1)).toMatchObject({
        component: 'wirekube-relay',
        event: 'started',
        requireAuth: false,
      });
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'exits 2 with usage on a bad flag',
    async () => {
      const main = join(dirname(fileURLToPath(import.meta.url)), '../src/main.ts');
      const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', 'x'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      const [code] = await once(child, 'exit');
      expect(code).toBe(2);
      expect(stderr).toMatch(/port must be an integer/);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
