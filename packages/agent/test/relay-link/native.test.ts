// The Go relay-link (packages/agent/native/relay-link) against the agent's own client code and a real RelayServer:
// what the contract suite does not cover — the same error replies as the Node relay-link for the same bad lines,
// the socket's permissions and single-instance rule, stop and SIGTERM, an agent restart finding the same ports,
// the key-ownership proof on a relay that requires it, a core-only relay, and a relay restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RelayServer } from '@wirekube/relay/server';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteRelayLink } from '../../src/relay-link/remote.js';
import { RelayLinkServer } from '../../src/relay-link/server.js';
import { relayLinkSpawner } from '../../src/relay-link/spawn.js';
import { stopRelayLink } from '../../src/relay-link/stop.js';
import { silentLog } from '../fakes.js';
import { nodeKeys, until } from './contract.js';
import { nativeRelayLinkBinary, startNative, stopChild } from './native-binary.js';

const native = nativeRelayLinkBinary();
const KEY = 'hN5mQ1cV4yR0h3W0kZb6Gm3l1n7GdQb8t4Xv9p2JqWs=';

/** Writes the lines on a fresh connection and collects every reply line until the server closes it (closed) or
 * 2 s pass. */
function exchange(socketPath: string, lines: string[]): Promise<{ replies: unknown[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let text = '';
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const replies = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as unknown);
      resolve({ replies, closed });
    };
    const timer = setTimeout(() => done(false), 2_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => done(true));
    socket.on('close', () => done(true));
    // The server may close while the rest of a refused conversation is still being written.
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? done(true) : reject(error),
    );
    socket.write(lines.map((l) => `${l}\n`).join(''));
  });
}

const hello = JSON.stringify({ type: 'hello', version: 1 });
const set = (patch: Record<string, unknown>) =>
  JSON.stringify({
    type: 'set',
    desired: { peers: [KEY], wireguardPort: 51820, ...patch },
    keys: { publicKey: KEY, privateKey: KEY },
  });

/** Bad conversations and what each must end with; the Node relay-link's reply is the reference. */
const conversations: Array<[string, string[]]> = [
  ['not JSON', [hello, 'nope']],
  ['first message not hello', [JSON.stringify({ type: 'view' })]],
  ['version mismatch', [JSON.stringify({ type: 'hello', version: 2 })]],
  ['unknown type', [hello, JSON.stringify({ type: 'launch' })]],
  ['bad peer', [hello, set({ peers: [KEY, 'abc'] })]],
  ['bad port', [hello, set({ wireguardPort: 70000 })]],
  ['target null', [hello, set({ target: null })]],
  ['bad target host', [hello, set({ target: { host: 'a b', port: 1, pool: false, source: 'external' } })]],
  ['bad target source', [hello, set({ target: { host: '192.0.2.1', port: 1, pool: false, source: 'dns' } })]],
  ['keys missing', [hello, JSON.stringify({ type: 'set', desired: { peers: [], wireguardPort: 1 } })]],
  // Well over the 1 MiB limit: the Node reader checks it per socket read, so a line just over it may pass there.
  ['a line too long', [hello, `"${'x'.repeat(3 * 1024 * 1024)}"`]],
];

const dirs: string[] = [];
const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await Promise.all(children.splice(0).map(stopChild));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wk-golink-'));
  dirs.push(dir);
  return dir;
}
async function startGo(socketPath: string): Promise<ChildProcess> {
  if ('skip' in native) throw new Error(native.skip);
  const child = await startNative(native.path, socketPath);
  children.push(child);
  return child;
}
async function relay(options: ConstructorParameters<typeof RelayServer>[0] = {}) {
  const server = new RelayServer({ closeGraceMs: 100, ...options });
  const { port } = await server.listen(0, '127.0.0.1');
  cleanups.push(() => server.close());
  return { server, target: { host: '127.0.0.1', port, pool: false, source: 'external' as const } };
}
/** A relay-link started by the agent's spawner with `env` (and a shipped binary), ready on a relay. */
async function spawnedLink(env: NodeJS.ProcessEnv, shippedBinary?: string) {
  const { target } = await relay();
  const dir = tempDir();
  const socketPath = join(dir, 'run', 'relay-link.sock');
  const spawnLink = relayLinkSpawner({
    socketPath,
    env,
    ...(shippedBinary ? { shippedBinary } : {}),
    logPath: join(dir, 'relay-link.log'),
    readyTimeoutMs: 10_000,
  });
  const link = new RemoteRelayLink({ socketPath, keys: nodeKeys(), log: silentLog, spawn: spawnLink });
  cleanups.push(async () => {
    await stopRelayLink(socketPath);
  });
  await link.set({ target, peers: [], wireguardPort: 51820 });
  await until(link, () => link.ready);
  return { link, dir };
}
function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe.skipIf('skip' in native)('the Go relay-link', () => {
  it('answers every bad conversation as the Node relay-link does (code, field, message) and closes', async () => {
    const dir = tempDir();
    const nodeSocket = join(dir, 'node', 'link.sock');
    const goSocket = join(dir, 'go', 'link.sock');
    const nodeServer = new RelayLinkServer({ socketPath: nodeSocket, log: silentLog });
    await nodeServer.listen();
    cleanups.push(() => nodeServer.close());
    await startGo(goSocket);
    for (const [name, lines] of conversations) {
      const [node, go] = [await exchange(nodeSocket, lines), await exchange(goSocket, lines)];
      expect(node.closed, name).toBe(true);
      expect(go.closed, name).toBe(true);
      const [fromNode, fromGo] = [node.replies, go.replies];
      const last = (replies: unknown[]) => replies.at(-1) as Record<string, unknown>;
      expect(fromGo.length, name).toBe(fromNode.length);
      expect(last(fromGo).type, name).toBe('error');
      expect({ ...last(fromGo), message: '' }, name).toEqual({ ...last(fromNode), message: '' });
      // JSON parse errors are worded by each runtime's parser; the rest is the same text.
      if (name !== 'not JSON') expect(last(fromGo).message, name).toBe(last(fromNode).message);
      else expect(last(fromGo).message).toMatch(/^message: not JSON \(/);
    }
  });

  it('serves a 0600 socket in a 0700 directory, one instance per socket, and replaces a stale socket file', async () => {
    const dir = tempDir();
    const socketPath = join(dir, 'run', 'relay-link.sock');
    const first = await startGo(socketPath);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
    if ('skip' in native) return;
    const second = spawn(native.path, ['--socket', socketPath, '--log-level', 'silent'], { stdio: 'ignore' });
    expect(await exited(second)).toBe(1);
    expect(first.exitCode).toBeNull();
    await stopChild(first);
    // A relay-link that was SIGKILLed leaves its socket file behind, and nobody listens on it.
    const stale = join(dir, 'stale', 'relay-link.sock');
    const killed = await startGo(stale);
    killed.kill('SIGKILL');
    await exited(killed);
    expect(existsSync(stale)).toBe(true);
    await startGo(stale);
    const link = new RemoteRelayLink({ socketPath: stale, keys: nodeKeys(), log: silentLog });
    await link.set({ peers: [], wireguardPort: 51820 });
    expect(link.pid).toBeGreaterThan(0);
    await link.close();
  });

  it('stops on a stop request (exit 0, socket gone) and on SIGTERM', async () => {
    const dir = tempDir();
    const socketPath = join(dir, 'a', 'relay-link.sock');
    const child = await startGo(socketPath);
    const result = await stopRelayLink(socketPath);
    expect(result).toMatchObject({ stopped: true, pid: child.pid, socketRemoved: true });
    expect(await exited(child)).toBe(0);
    expect(existsSync(socketPath)).toBe(false);
    const other = await startGo(join(dir, 'b', 'relay-link.sock'));
    other.kill('SIGTERM');
    expect(await exited(other)).toBe(0);
    expect(existsSync(join(dir, 'b', 'relay-link.sock'))).toBe(false);
  });

  it('keeps the relay session and the proxy ports through an agent restart', async () => {
    const { target } = await relay();
    const socketPath = join(tempDir(), 'relay-link.sock');
    await startGo(socketPath);
    const keys = nodeKeys();
    const peer = nodeKeys().publicKey;
    const desired = { target, peers: [peer], wireguardPort: 51820 };
    const before = new RemoteRelayLink({ socketPath, keys, log: silentLog });
    await before.set(desired);
    await until(before, () => before.ready);
    const endpoint = before.proxyEndpoint(peer);
    await before.close();
    const after = new RemoteRelayLink({ socketPath, keys, log: silentLog });
    await after.set(desired);
    expect(after.ready).toBe(true);
    expect(after.proxyEndpoint(peer)).toBe(endpoint);
    await after.close();
  });

  it('proves key ownership to a relay that requires it, and works on a core-only relay', async () => {
    for (const options of [{ requireAuth: true }, { extensions: [] }]) {
      const { target } = await relay(options);
      const socketPath = join(tempDir(), 'relay-link.sock');
      await startGo(socketPath);
      const link = new RemoteRelayLink({ socketPath, keys: nodeKeys(), log: silentLog });
      await link.set({ target, peers: [], wireguardPort: 51820 });
      await until(link, () => link.ready, 2_000);
      await link.close();
    }
  });

  it('reconnects after the relay restarts (backoff from 1 s)', async () => {
    const first = new RelayServer({ closeGraceMs: 100 });
    const { port } = await first.listen(0, '127.0.0.1');
    const target = { host: '127.0.0.1', port, pool: false, source: 'external' as const };
    const socketPath = join(tempDir(), 'relay-link.sock');
    await startGo(socketPath);
    const link = new RemoteRelayLink({ socketPath, keys: nodeKeys(), log: silentLog });
    await link.set({ target, peers: [], wireguardPort: 51820 });
    await until(link, () => link.ready);
    await first.close();
    await until(link, () => !link.ready, 8_000);
    const second = new RelayServer({ closeGraceMs: 100 });
    await second.listen(port, '127.0.0.1');
    cleanups.push(() => second.close());
    await until(link, () => link.ready, 8_000);
    await link.close();
  }, 20_000);

  it('is what the agent starts (detached) when WIREKUBE_RELAY_LINK_BINARY names it', async () => {
    if ('skip' in native) return;
    const { link, dir } = await spawnedLink({ WIREKUBE_RELAY_LINK_BINARY: native.path });
    expect(readlinkSync(`/proc/${link.pid}/exe`)).toBe(native.path);
    await link.close();
    const log = readFileSync(join(dir, 'relay-link.log'), 'utf8').split('\n').filter(Boolean);
    const events = log.map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toEqual(expect.arrayContaining(['relay-link-started', 'relay-opened', 'relay-ready']));
  });

  it('is what the agent starts by default: the shipped binary, with WIREKUBE_RELAY_LINK_BINARY unset', async () => {
    if ('skip' in native) return;
    const { link } = await spawnedLink({}, native.path);
    expect(readlinkSync(`/proc/${link.pid}/exe`)).toBe(native.path);
    expect(readFileSync(`/proc/${link.pid}/cmdline`, 'utf8').split('\0').slice(1, 3)).toEqual([
      'relay-link',
      '--socket',
    ]);
    await link.close();
  });

  it('carries bursts of datagrams of every size intact and in order (batched reads and writes)', async () => {
    const { target } = await relay();
    const dir = tempDir();
    const [a, b] = [nodeKeys(), nodeKeys()];
    // The stand-in WireGuards get big buffers: drops in them would be this test's, not the proxy's.
    const wgA = createSocket({ type: 'udp4', sendBufferSize: 8 << 20 });
    const wgB = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
    cleanups.push(async () => {
      wgA.close();
      wgB.close();
    });
    const received: Buffer[] = [];
    wgB.on('message', (m) => received.push(m));
    await new Promise<void>((r) => wgA.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => wgB.bind(0, '127.0.0.1', r));
    await startGo(join(dir, 'a.sock'));
    await startGo(join(dir, 'b.sock'));
    const linkA = new RemoteRelayLink({ socketPath: join(dir, 'a.sock'), keys: a, log: silentLog });
    const linkB = new RemoteRelayLink({ socketPath: join(dir, 'b.sock'), keys: b, log: silentLog });
    await linkA.set({ target, peers: [b.publicKey], wireguardPort: wgA.address().port });
    await linkB.set({ target, peers: [a.publicKey], wireguardPort: wgB.address().port });
    await until(linkA, () => linkA.ready);
    await until(linkB, () => linkB.ready);
    const port = Number(linkA.proxyEndpoint(b.publicKey)!.split(':')[1]);
    // Sequence number + a size that cycles through 1..1500 bytes and, every 100th, a 60 000-byte datagram.
    const datagram = (i: number) => {
      const size = i % 100 === 99 ? 60_000 : 4 + (i % 1_497);
      const d = Buffer.alloc(size, i % 251);
      if (size >= 4) d.writeUInt32BE(i, 0);
      return d;
    };
    const total = 3_000;
    for (let i = 0; i < total; i += 50) {
      await Promise.all(
        Array.from(
          { length: 50 },
          (_, k) => new Promise<void>((r) => wgA.send(datagram(i + k), port, '127.0.0.1', () => r())),
        ),
      );
      await new Promise((r) => setImmediate(r));
    }
    const deadline = Date.now() + 5_000;
    while (received.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Loopback UDP may drop under load, but what arrives is whole and in order.
    expect(received.length).toBeGreaterThan(total * 0.95);
    let last = -1;
    for (const m of received) {
      const i = m.readUInt32BE(0);
      expect(i).toBeGreaterThan(last);
      expect(m.equals(datagram(i))).toBe(true);
      last = i;
    }
    await linkA.refresh();
    await linkB.refresh();
    expect(linkA.proxyCounters(b.publicKey)!.txPackets).toBe(total);
    expect(linkB.proxyCounters(a.publicKey)!.rxPackets).toBe(received.length);
    await linkA.close();
    await linkB.close();
  }, 20_000);

  it('holds no datagram buffers per idle peer: 200 peers, then 200 others, stay under 40 MB resident', async () => {
    const { target } = await relay();
    const socketPath = join(tempDir(), 'relay-link.sock');
    const child = await startGo(socketPath);
    const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
    const link = new RemoteRelayLink({ socketPath, keys: nodeKeys(), log: silentLog });
    const peers = () => Array.from({ length: 200 }, () => nodeKeys().publicKey);
    await link.set({ target, peers: peers(), wireguardPort: 51820 });
    await until(link, () => link.ready);
    expect(rssKb()).toBeLessThan(40_000);
    await link.set({ target, peers: peers(), wireguardPort: 51820 });
    expect(rssKb()).toBeLessThan(40_000);
    await link.close();
  });
});
