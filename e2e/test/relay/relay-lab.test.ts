// @wirekube/relay in the lab: two wireguard-go hosts behind symmetric NATs (no direct path possible) talk
// through the relay on a public host, each via the relay client + local UDP proxy (peer.ts). Then: the relay is
// killed and restarted and the ping resumes; a client without the private key cannot take over a registered key
// when auth is required; core-only clients relay when auth is not required.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLab,
  type Lab,
  type LabHost,
  type LabProcess,
  type WgKeys,
  wgKeys,
  wgLatestHandshakes,
  wgSetPeer,
  wgUp,
} from '../../src/index.js';
import { relayCommand } from '../../src/relay-program.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const PEER = join(here, 'peer.ts');
const AUTH_PORT = 3478; // relay started with --require-auth
const OPEN_PORT = 3479; // relay without it
const TUNNEL = { a: '10.99.0.1', b: '10.99.0.2' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Line = Record<string, unknown>;
function lines(process: LabProcess): Line[] {
  const out: Line[] = [];
  for (const text of process.output().split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      out.push(JSON.parse(text) as Line);
    } catch {
      // a line cut by the output buffer
    }
  }
  return out;
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function startRelay(pub: LabHost, port: number, requireAuth: boolean): LabProcess {
  return pub.spawn(
    relayCommand([
      '--port',
      String(port),
      '--http-port',
      String(port + 6000),
      ...(requireAuth ? ['--require-auth'] : []),
    ]),
    { cwd: repoRoot },
  );
}

async function relayStarted(relay: LabProcess): Promise<void> {
  await waitFor('relay start', () => {
    if (relay.done) throw new Error(`relay exited: ${relay.output()}`);
    return lines(relay).some((l) => l.event === 'started');
  });
}

interface PeerOptions {
  self: WgKeys;
  peer: WgKeys;
  relayAddress: string;
  port: number;
  extensions: boolean;
  withPrivateKey: boolean;
}

/** Starts peer.ts in `host`; resolves with the process and the proxy port it opened for the peer. */
async function startPeer(
  host: LabHost,
  options: PeerOptions,
): Promise<{ process: LabProcess; proxyPort: number }> {
  const process = host.spawn(['node', '--import', 'tsx', PEER], {
    cwd: repoRoot,
    env: {
      RELAY_HOST: options.relayAddress,
      RELAY_PORT: String(options.port),
      PUBLIC_KEY: options.self.publicKey,
      ...(options.withPrivateKey ? { PRIVATE_KEY: options.self.privateKey } : {}),
      PEERS: options.peer.publicKey,
      WG_PORT: '51820',
      EXTENSIONS: String(options.extensions),
    },
  });
  const proxyPort = await waitFor(`proxy port in ${host.name}`, () => {
    if (process.done) throw new Error(`peer exited: ${process.output()}`);
    const line = lines(process).find((l) => l.event === 'proxy');
    return line ? Number(line.port) : undefined;
  });
  return { process, proxyPort };
}

async function ready(peer: LabProcess, after = 0): Promise<Line> {
  return waitFor('relay client ready', () =>
    lines(peer).find((l) => l.event === 'relay-ready' && Number(l.time) >= after),
  );
}

async function pingOnce(from: LabHost, to: string): Promise<boolean> {
  const result = await from.exec(['ping', '-n', '-c1', '-W1', to], { allowFail: true });
  return result.code === 0;
}

async function pingWithin(from: LabHost, to: string, ms: number): Promise<number> {
  const start = Date.now();
  await waitFor(`ping ${to}`, async () => ((await pingOnce(from, to)) ? true : undefined), ms);
  return Date.now() - start;
}

describe('relay in the lab: symmetric NAT on both sides', () => {
  let lab: Lab;
  let pub: LabHost;
  let a: LabHost;
  let b: LabHost;
  let keysA: WgKeys;
  let keysB: WgKeys;
  let authRelay: LabProcess;
  let openRelay: LabProcess;
  let peerA: Awaited<ReturnType<typeof startPeer>>;
  let peerB: Awaited<ReturnType<typeof startPeer>>;

  beforeAll(async () => {
    lab = await createLab({
      hosts: [
        { name: 'pub', nat: 'none' },
        { name: 'syma', nat: 'symmetric', lan: 'lana' },
        { name: 'symb', nat: 'symmetric', lan: 'lanb' },
        { name: 'thief', nat: 'cone', lan: 'lanc' },
      ],
    });
    pub = lab.host('pub');
    a = lab.host('syma');
    b = lab.host('symb');
    for (const host of [pub, a, b, lab.host('thief')]) await host.exec(['ip', 'link', 'set', 'lo', 'up']);
    [keysA, keysB] = await Promise.all([wgKeys(a), wgKeys(b)]);
    // Each side points at the other's public address: behind two symmetric NATs that never handshakes.
    await Promise.all([
      wgUp(a, {
        iface: 'wg0',
        keys: keysA,
        listenPort: 51820,
        address: `${TUNNEL.a}/24`,
        peers: [
          {
            publicKey: keysB.publicKey,
            endpoint: `${b.publicAddress}:51820`,
            allowedIPs: [`${TUNNEL.b}/32`],
            persistentKeepalive: 1,
          },
        ],
      }),
      wgUp(b, {
        iface: 'wg0',
        keys: keysB,
        listenPort: 51820,
        address: `${TUNNEL.b}/24`,
        peers: [
          {
            publicKey: keysA.publicKey,
            endpoint: `${a.publicAddress}:51820`,
            allowedIPs: [`${TUNNEL.a}/32`],
            persistentKeepalive: 1,
          },
        ],
      }),
    ]);
    authRelay = startRelay(pub, AUTH_PORT, true);
    openRelay = startRelay(pub, OPEN_PORT, false);
    await Promise.all([relayStarted(authRelay), relayStarted(openRelay)]);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('cannot go direct: no handshake between the two symmetric-NAT hosts', async () => {
    expect([a.nat, b.nat]).toEqual(['symmetric', 'symmetric']);
    await sleep(6_000); // more than one WireGuard handshake retry (5 s)
    expect((await wgLatestHandshakes(a, 'wg0')).get(keysB.publicKey) ?? 0).toBe(0);
    expect(await pingOnce(a, TUNNEL.b)).toBe(false);
  });

  it('pings through two local proxies and the relay (auth required, both clients prove their keys)', async () => {
    const options = { relayAddress: pub.address, port: AUTH_PORT, extensions: true, withPrivateKey: true };
    peerA = await startPeer(a, { ...options, self: keysA, peer: keysB });
    peerB = await startPeer(b, { ...options, self: keysB, peer: keysA });
    const [readyA] = await Promise.all([ready(peerA.process), ready(peerB.process)]);
    expect(readyA).toMatchObject({ authenticated: true, extensions: [1, 2, 3] });
    // The agent's lever: WireGuard's endpoint for the peer moves to the local proxy.
    await wgSetPeer(a, 'wg0', {
      publicKey: keysB.publicKey,
      endpoint: `127.0.0.1:${peerA.proxyPort}`,
      allowedIPs: [`${TUNNEL.b}/32`],
    });
    await wgSetPeer(b, 'wg0', {
      publicKey: keysA.publicKey,
      endpoint: `127.0.0.1:${peerB.proxyPort}`,
      allowedIPs: [`${TUNNEL.a}/32`],
    });
    await pingWithin(a, TUNNEL.b, 20_000);
    const burst = await a.exec(['ping', '-n', '-c5', '-i', '0.2', '-W2', TUNNEL.b]);
    expect(burst.stdout).toContain('5 received');
    expect((await wgLatestHandshakes(a, 'wg0')).get(keysB.publicKey)).toBeGreaterThan(0);
  });

  it('a client without the private key cannot take over a registered key when auth is required', async () => {
    const thief = lab.host('thief');
    const attempt = async (withAuth: boolean, publicKey = keysA.publicKey, silent = false) => {
      const result = await thief.exec(['node', '--import', 'tsx', PEER], {
        cwd: repoRoot,
        env: {
          MODE: 'thief',
          THIEF_AUTH: String(withAuth),
          THIEF_SILENT: String(silent),
          RELAY_HOST: pub.address,
          RELAY_PORT: String(AUTH_PORT),
          PUBLIC_KEY: publicKey,
        },
      });
      return lines({ output: () => result.stdout } as LabProcess).find((l) => l.event === 'result')!;
    };
    const forged = await attempt(true);
    expect(forged).toMatchObject({ closed: true, authOk: false });
    expect(String((forged.errors as string[])[0])).toMatch(/authentication failed/);
    const core = await attempt(false);
    expect(core).toMatchObject({ closed: true, authOk: false });
    // The key is taken: an unproven registration is refused outright.
    expect(String((core.errors as string[])[0])).toMatch(/key already registered/);
    // A core-only client that registers a free key and then waits (no traffic yet) is told why at once, not
    // after the relay's 10 s handshake timeout.
    const silent = await attempt(false, (await wgKeys(thief)).publicKey, true);
    expect(silent).toMatchObject({ closed: true, authOk: false });
    expect(String((silent.errors as string[])[0])).toMatch(/^authentication required/);
    expect(Number(silent.closedAfterMs)).toBeLessThan(5_000);
    console.log(JSON.stringify({ coreClientRefusedAfterMs: silent.closedAfterMs }));
    // The owner's session is untouched.
    expect(await a.exec(['ping', '-n', '-c3', '-i', '0.2', '-W2', TUNNEL.b])).toMatchObject({ code: 0 });
    expect(lines(peerA.process).filter((l) => l.event === 'relay-disconnected')).toEqual([]);
  });

  it('kill and restart the relay: clients reconnect within the backoff and the ping resumes', async () => {
    await authRelay.stop(0); // SIGKILL: a crash, no goodbye
    const killedAt = Date.now();
    await waitFor('clients notice', () =>
      [peerA, peerB].every((p) => lines(p.process).some((l) => l.event === 'relay-disconnected')),
    );
    expect(await pingOnce(a, TUNNEL.b)).toBe(false);
    await sleep(1_500); // down for a while: the clients go through a couple of backoff steps
    authRelay = startRelay(pub, AUTH_PORT, true);
    await relayStarted(authRelay);
    const restartedAt = Date.now();
    await Promise.all([ready(peerA.process, killedAt), ready(peerB.process, killedAt)]);
    const reconnectMs = Date.now() - restartedAt;
    // Backoff so far was 1 s, 2 s (+20% jitter): the next attempt comes within 4.8 s of the restart at worst.
    expect(reconnectMs).toBeLessThan(5_000);
    const resumeMs = await pingWithin(a, TUNNEL.b, 15_000);
    console.log(
      JSON.stringify({ relayDownMs: restartedAt - killedAt, reconnectMs, pingResumedAfterMs: resumeMs }),
    );
  });

  it('notices a silently dead TCP path within seconds (ping extension) and recovers', async () => {
    const since = Date.now();
    // Blackhole A's relay connection in both directions: no RST, no FIN, just silence.
    const rules = [
      ['OUTPUT', '-p', 'tcp', '--dport', String(AUTH_PORT), '-j', 'DROP'],
      ['INPUT', '-p', 'tcp', '--sport', String(AUTH_PORT), '-j', 'DROP'],
    ];
    for (const rule of rules) await a.exec(['iptables', '-I', ...rule]);
    let detectedMs: number;
    try {
      const line = await waitFor(
        'liveness timeout',
        () => lines(peerA.process).find((l) => l.event === 'liveness-timeout' && Number(l.time) >= since),
        30_000,
      );
      detectedMs = Number(line.time) - since;
    } finally {
      for (const rule of rules) await a.exec(['iptables', '-D', ...rule], { allowFail: true });
    }
    // Ping every 2 s, dead after 6 s of silence (checked every 2 s): seconds, not TCP's minutes.
    expect(detectedMs).toBeLessThan(10_000);
    await ready(peerA.process, since);
    const resumeMs = await pingWithin(a, TUNNEL.b, 20_000);
    console.log(JSON.stringify({ livenessDetectedMs: detectedMs, pingResumedAfterMs: resumeMs }));
  });

  it('core-only clients still relay when auth is not required', async () => {
    await Promise.all([peerA.process.stop(2_000), peerB.process.stop(2_000)]);
    const options = { relayAddress: pub.address, port: OPEN_PORT, extensions: false, withPrivateKey: false };
    peerA = await startPeer(a, { ...options, self: keysA, peer: keysB });
    peerB = await startPeer(b, { ...options, self: keysB, peer: keysA });
    const [readyA] = await Promise.all([ready(peerA.process), ready(peerB.process)]);
    expect(readyA).toMatchObject({ authenticated: false, extensions: [] });
    // New proxies, new ports: move WireGuard's endpoints over (the agent does this when switching paths).
    await wgSetPeer(a, 'wg0', {
      publicKey: keysB.publicKey,
      endpoint: `127.0.0.1:${peerA.proxyPort}`,
      allowedIPs: [`${TUNNEL.b}/32`],
    });
    await wgSetPeer(b, 'wg0', {
      publicKey: keysA.publicKey,
      endpoint: `127.0.0.1:${peerB.proxyPort}`,
      allowedIPs: [`${TUNNEL.a}/32`],
    });
    await pingWithin(a, TUNNEL.b, 20_000);
    const burst = await b.exec(['ping', '-n', '-c5', '-i', '0.2', '-W2', TUNNEL.a]);
    expect(burst.stdout).toContain('5 received');
    const counters = await waitFor('proxy counters', () =>
      lines(peerA.process).findLast((l) => l.event === 'counters' && Number(l.rxPackets) > 0),
    );
    expect(Number(counters.txPackets)).toBeGreaterThan(0);
  });
});
