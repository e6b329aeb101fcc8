import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RelayServer } from '@wirekube/relay/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RelayConnection, type RelayLink } from '../../src/relay/connection.js';
import type { LinkKeys } from '../../src/relay-link/protocol.js';
import { RemoteRelayLink } from '../../src/relay-link/remote.js';
import { RelayLinkServer } from '../../src/relay-link/server.js';
import { stopRelayLink } from '../../src/relay-link/stop.js';
import { silentLog } from '../fakes.js';
import { nodeKeys, until } from './contract.js';

let relay: RelayServer;
let port = 0;
let dir: string;
const cleanups: Array<() => Promise<void>> = [];
beforeAll(async () => {
  relay = new RelayServer({ closeGraceMs: 100 });
  port = (await relay.listen(0, '127.0.0.1')).port;
});
afterAll(async () => {
  await relay.close();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

const target = () => ({ host: '127.0.0.1', port, pool: false, source: 'external' as const });

function socketPath(): string {
  dir = mkdtempSync(join(tmpdir(), 'wk-link-'));
  return join(dir, 'run', 'relay-link.sock');
}

async function server(path: string, extra: { created?: LinkKeys[]; onStop?: () => void } = {}) {
  const s = new RelayLinkServer({
    socketPath: path,
    log: silentLog,
    createConnection: (keys) => {
      extra.created?.push(keys);
      return new RelayConnection({ ...keys, log: silentLog });
    },
    ...(extra.onStop ? { onStop: extra.onStop } : {}),
  });
  await s.listen();
  cleanups.push(() => s.close());
  return s;
}

function remote(path: string, keys: LinkKeys, spawn?: () => Promise<unknown>): RemoteRelayLink {
  const link = new RemoteRelayLink({
    socketPath: path,
    keys,
    log: silentLog,
    backoff: { initialMs: 20, maxMs: 100 },
    ...(spawn ? { spawn } : {}),
  });
  cleanups.push(() => link.close());
  return link;
}

/** Raw client: one line out, every line back until the server closes. */
function raw(path: string, lines: string): Promise<string[]> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    let data = '';
    s.on('data', (d) => {
      data += d;
    });
    // The server may close while we still write (an over-long line): what it answered is what counts.
    s.on('error', () => undefined);
    s.on('close', () => resolve(data.split('\n').filter(Boolean)));
    s.write(lines);
  });
}

describe('RemoteRelayLink and the relay-link server', () => {
  it('an agent restart adopts the running link: same ports, ready in its first set', async () => {
    const path = socketPath();
    await server(path);
    const keys = nodeKeys();
    const peer = nodeKeys().publicKey;
    const desired = { target: target(), peers: [peer], wireguardPort: 51820 };
    const first = remote(path, keys);
    await first.set(desired);
    await until(first, () => first.ready);
    const endpoint = first.proxyEndpoint(peer);
    await first.close();
    const second = remote(path, keys);
    await second.set(desired);
    expect(second.ready).toBe(true);
    expect(second.proxyEndpoint(peer)).toBe(endpoint);
  });

  it('socket 0600 in a 0700 directory; a stale socket file is replaced', async () => {
    const path = socketPath();
    const s = await server(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    await s.close();
    writeFileSync(path, '');
    await server(path);
    expect(statSync(path).isSocket()).toBe(true);
  });

  it('a second relay-link on a live socket refuses to start', async () => {
    const path = socketPath();
    await server(path);
    await expect(new RelayLinkServer({ socketPath: path, log: silentLog }).listen()).rejects.toThrow(
      /already serves/,
    );
  });

  it('a malformed message closes that client only, with an error naming the field', async () => {
    const path = socketPath();
    await server(path);
    const link = remote(path, nodeKeys());
    await link.set({ target: target(), peers: [], wireguardPort: 51820 });
    await until(link, () => link.ready);
    const bad = await raw(path, '{"type":"hello","version":1}\n{"type":"set","desired":{"peers":"x"}}\n');
    expect(JSON.parse(bad[0]!)).toMatchObject({ type: 'hello', version: 1 });
    expect(JSON.parse(bad[1]!)).toMatchObject({ type: 'error', code: 'bad-message', field: 'desired.peers' });
    const notHello = await raw(path, '{"type":"view"}\n');
    expect(JSON.parse(notHello[0]!)).toMatchObject({ type: 'error', code: 'not-hello' });
    const version = await raw(path, '{"type":"hello","version":99}\n');
    expect(JSON.parse(version[0]!)).toMatchObject({ type: 'error', code: 'version', field: 'version' });
    const garbage = await raw(path, 'not json at all\n');
    expect(JSON.parse(garbage[0]!)).toMatchObject({ type: 'error', field: 'message' });
    await link.refresh();
    expect(link.ready).toBe(true);
  });

  it('a line over the limit closes that client', async () => {
    const path = socketPath();
    await server(path);
    const lines = await raw(path, `{"type":"hello","version":1}\n${'x'.repeat(1100 * 1024)}`);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'error', field: 'message' });
  });

  it('a key change reopens the relay connection with the new key', async () => {
    const path = socketPath();
    const created: LinkKeys[] = [];
    await server(path, { created });
    const peer = nodeKeys().publicKey;
    const [k1, k2] = [nodeKeys(), nodeKeys()];
    const a = remote(path, k1);
    await a.set({ target: target(), peers: [peer], wireguardPort: 51820 });
    await a.set({ target: target(), peers: [peer], wireguardPort: 51820 });
    await a.close();
    const b = remote(path, k2);
    await b.set({ target: target(), peers: [peer], wireguardPort: 51820 });
    await until(b, () => b.ready);
    expect(created.map((k) => k.publicKey)).toEqual([k1.publicKey, k2.publicKey]);
  });

  it('spawn mode: nothing answers → starts one in the background, then sends the desired state', async () => {
    const path = socketPath();
    let spawned = 0;
    const link = remote(path, nodeKeys(), async () => {
      spawned++;
      await server(path);
    });
    const peer = nodeKeys().publicKey;
    // No relay wanted: no process is started for nothing.
    await link.set({ peers: [peer], wireguardPort: 51820 });
    expect(spawned).toBe(0);
    await link.set({ target: target(), peers: [peer], wireguardPort: 51820 });
    expect(link.ready).toBe(false);
    await until(link, () => link.ready && link.proxyEndpoint(peer) !== undefined);
    expect(spawned).toBe(1);
  });

  it('a failing spawn is retried with backoff, not on every pass', async () => {
    const path = socketPath();
    let spawned = 0;
    const link = new RemoteRelayLink({
      socketPath: path,
      keys: nodeKeys(),
      log: silentLog,
      backoff: { initialMs: 60_000, maxMs: 60_000 },
      spawn: async () => {
        spawned++;
        throw new Error('no such program');
      },
    });
    cleanups.push(() => link.close());
    for (let i = 0; i < 5; i++) {
      await link.set({ target: target(), peers: [], wireguardPort: 51820 });
      await link.refresh();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(spawned).toBe(1);
    expect(link.ready).toBe(false);
  });

  it('the link lost: not ready; a new relay-link on the socket gets the last desired state again', async () => {
    const path = socketPath();
    const s = await server(path);
    const peer = nodeKeys().publicKey;
    const link = remote(path, nodeKeys());
    await link.set({ target: target(), peers: [peer], wireguardPort: 51820 });
    await until(link, () => link.ready);
    await s.close();
    await until(link, () => !link.ready);
    await server(path);
    await until(link, () => link.ready && link.proxyEndpoint(peer) !== undefined);
  });

  it('stopRelayLink: asks a running one to stop and removes the socket; a stale file is removed', async () => {
    const path = socketPath();
    let stopped = 0;
    const s = await server(path, { onStop: () => void s.close().then(() => stopped++) });
    const result = await stopRelayLink(path);
    expect(result).toMatchObject({ stopped: true, socketRemoved: true });
    expect(result.pid).toBe(process.pid);
    expect(stopped).toBe(1);
    expect(existsSync(path)).toBe(false);
    writeFileSync(path, '');
    expect(await stopRelayLink(path)).toEqual({ stopped: false, socketRemoved: true });
    expect(existsSync(path)).toBe(false);
    expect(await stopRelayLink(path)).toEqual({ stopped: false, socketRemoved: false });
  });
});

export type { RelayLink };
