// The userspace backend against real wireguard-go in two lab hosts: one daemon started by @wirekube/netlink,
// one started by the lab and adopted. Routes in table 22347 with src and the priority-200 / fwmark rules
// carry the ping; read-back must match what was set, and a second apply must send nothing.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DesiredDevice, generateKeyPair } from '@wirekube/netlink';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, type LabHost, type LabProcess, wgLatestHandshakes } from '../../src/index.js';
import { probe } from './run-probe.js';

const TABLE = 22347;
const FWMARK = 0x574b;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface PeerOut {
  publicKey: string;
  endpoint?: string;
  persistentKeepalive: number;
  allowedIPs: string[];
  lastHandshake?: string;
  rxBytes: number;
  txBytes: number;
}
interface DeviceOut {
  privateKey?: string;
  publicKey?: string;
  listenPort: number;
  fwmark: number;
  peers: PeerOut[];
}
interface ApplyOut {
  changed: boolean;
  device: string[];
  added: string[];
  removed: string[];
  updated: Array<{ publicKey: string; fields: string[] }>;
  keptRoamedEndpoints: Array<{ publicKey: string; actual: string; desired: string }>;
}
interface UpOut {
  detection: { kind: string; reason: string };
  ensured: { created: boolean; pid?: number };
  first: ApplyOut;
  second: ApplyOut;
  device: DeviceOut;
  link: { mtu: number; up: boolean };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('netlink: userspace WireGuard backend with real wireguard-go', () => {
  let lab: Lab;
  let a: LabHost;
  let b: LabHost;
  let adopted: LabProcess | undefined;
  let startedPid: number | undefined;
  let logDir: string;
  const keysA = generateKeyPair();
  const keysB = generateKeyPair();

  const desired = (self: 'a' | 'b', extraIPs: string[] = []): DesiredDevice => {
    const [own, other, otherHost] = self === 'a' ? [keysA, keysB, b] : [keysB, keysA, a];
    return {
      privateKey: own.privateKey,
      listenPort: 51820,
      fwmark: FWMARK,
      peers: [
        {
          publicKey: other.publicKey,
          endpoint: `${otherHost.address}:51820`,
          persistentKeepalive: 1,
          allowedIPs: [self === 'a' ? '10.78.0.2/32' : '10.78.0.1/32', ...extraIPs],
        },
      ],
    };
  };

  const routing = (self: 'a' | 'b') => {
    const [own, other] = self === 'a' ? ['10.78.0.1', '10.78.0.2'] : ['10.78.0.2', '10.78.0.1'];
    return {
      iface: 'wg0',
      address: `${own}/32`,
      table: TABLE,
      routes: [{ dst: `${other}/32`, table: TABLE, dev: 'wg0', src: own }],
      rules: [
        { priority: 199, table: 254, fwmark: FWMARK },
        { priority: 200, table: TABLE },
      ],
      ownedPriorities: [199, 200],
    };
  };

  beforeAll(async () => {
    logDir = await mkdtemp(join(tmpdir(), 'wk-netlink-e2e-'));
    lab = await createLab({
      hosts: [
        { name: 'a', nat: 'none' },
        { name: 'b', nat: 'none' },
      ],
    });
    a = lab.host('a');
    b = lab.host('b');
  });

  afterAll(async () => {
    // Our daemon is detached from the probe that started it: the lab does not know its PID.
    if (startedPid !== undefined && alive(startedPid)) process.kill(startedPid, 'SIGTERM');
    await adopted?.stop();
    await lab?.destroy();
    await rm(logDir, { recursive: true, force: true });
  });

  it('starts (a) or adopts (b) wireguard-go, configures both, reads back what it set; a second apply sends nothing', async () => {
    adopted = await b.wireguardGo('wg0');
    const upB = await probe<UpOut>(b, 'wg-up', {
      iface: 'wg0',
      mtu: 1420,
      address: '10.78.0.2/32',
      desired: desired('b'),
    });
    const upA = await probe<UpOut>(a, 'wg-up', {
      iface: 'wg0',
      mtu: 1420,
      address: '10.78.0.1/32',
      desired: desired('a'),
      logPath: join(logDir, 'wireguard-go-a.log'),
    });
    startedPid = upA.ensured.pid;

    // No wireguard module on these machines: the genl family is absent and the probe link is refused.
    expect(upA.detection).toEqual({
      kind: 'userspace',
      reason: expect.stringMatching(
        /^no kernel WireGuard \(genl family absent, link kind refused: E[A-Z]+\)$/,
      ),
    });
    expect(upA.ensured.created).toBe(true);
    expect(typeof upA.ensured.pid).toBe('number');
    expect(upB.ensured).toEqual({ created: false });
    for (const [up, own, other] of [
      [upA, keysA, keysB],
      [upB, keysB, keysA],
    ] as const) {
      expect(up.first).toMatchObject({
        changed: true,
        device: ['privateKey', 'listenPort', 'fwmark'],
        added: [other.publicKey],
      });
      expect(up.second).toMatchObject({ changed: false, device: [], added: [], removed: [], updated: [] });
      expect(up.link).toMatchObject({ mtu: 1420, up: true });
      expect(up.device).toMatchObject({
        privateKey: own.privateKey,
        publicKey: own.publicKey,
        listenPort: 51820,
        fwmark: FWMARK,
      });
    }
    expect(upA.device.peers).toEqual([
      expect.objectContaining({
        publicKey: keysB.publicKey,
        endpoint: `${b.address}:51820`,
        persistentKeepalive: 1,
        allowedIPs: ['10.78.0.2/32'],
      }),
    ]);

    // wg(8) reading the same daemon agrees with what we read back.
    const dump = (await a.exec(['wg', 'show', 'wg0', 'dump'])).stdout.trim().split('\n');
    expect(dump[0]?.split('\t')).toEqual([keysA.privateKey, keysA.publicKey, '51820', '0x574b']);
    const peerLine = dump[1]?.split('\t') ?? [];
    expect([peerLine[0], peerLine[2], peerLine[3], peerLine[7]]).toEqual([
      keysB.publicKey,
      `${b.address}:51820`,
      '10.78.0.2/32',
      '1',
    ]);
  });

  it('routes through table 22347 with src; the hosts handshake and ping each other', async () => {
    for (const [host, self] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      const out = await probe<{ routes: { replaced: number }; rules: { added: number } }>(
        host,
        'routing',
        routing(self),
      );
      expect(out.routes.replaced).toBe(1);
      expect(out.rules.added).toBe(2);
    }
    const deadline = Date.now() + 20_000;
    while (((await wgLatestHandshakes(a, 'wg0')).get(keysB.publicKey) ?? 0) === 0) {
      if (Date.now() > deadline) throw new Error('no handshake within 20 s');
      await sleep(200);
    }
    const route = JSON.parse((await a.exec(['ip', '-j', 'route', 'get', '10.78.0.2'])).stdout) as Array<{
      dev: string;
      prefsrc: string;
      table?: string;
    }>;
    expect(route[0]).toMatchObject({ dev: 'wg0', prefsrc: '10.78.0.1' });
    const ping = await a.exec(['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.78.0.2']);
    expect(ping.stdout).toMatch(/3 received/);
    const back = await b.exec(['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.78.0.1']);
    expect(back.stdout).toMatch(/3 received/);

    const shown = await probe<{ device: DeviceOut }>(a, 'wg-show', { iface: 'wg0' });
    const peer = shown.device.peers[0] as PeerOut;
    expect(peer.lastHandshake).toBeDefined();
    expect(peer.rxBytes).toBeGreaterThan(0);
    expect(peer.txBytes).toBeGreaterThan(0);
  });

  it('changes allowed IPs in place (session and counters kept) and leaves a differing endpoint alone unless forced', async () => {
    const before = (await probe<{ device: DeviceOut }>(a, 'wg-show', { iface: 'wg0' })).device
      .peers[0] as PeerOut;
    const widened = await probe<{ result: ApplyOut; device: DeviceOut }>(a, 'wg-apply', {
      iface: 'wg0',
      desired: desired('a', ['10.78.9.0/24']),
    });
    expect(widened.result).toMatchObject({
      changed: true,
      added: [],
      removed: [],
      updated: [{ publicKey: keysB.publicKey, fields: ['allowedIPs'] }],
    });
    const after = widened.device.peers[0] as PeerOut;
    expect(after.allowedIPs).toEqual(['10.78.0.2/32', '10.78.9.0/24']);
    // A remove + re-add would have reset the handshake and the byte counters.
    expect(after.lastHandshake).toBe(before.lastHandshake);
    expect(after.rxBytes).toBeGreaterThanOrEqual(before.rxBytes);

    const elsewhere = desired('a', ['10.78.9.0/24']);
    (elsewhere.peers[0] as DesiredDevice['peers'][number]).endpoint = '192.0.2.250:51820';
    const kept = await probe<{ result: ApplyOut; device: DeviceOut }>(a, 'wg-apply', {
      iface: 'wg0',
      desired: elsewhere,
    });
    expect(kept.result.changed).toBe(false);
    expect(kept.result.keptRoamedEndpoints).toEqual([
      { publicKey: keysB.publicKey, actual: `${b.address}:51820`, desired: '192.0.2.250:51820' },
    ]);
    expect(kept.device.peers[0]?.endpoint).toBe(`${b.address}:51820`);

    const ping = await a.exec(['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.78.0.2']);
    expect(ping.stdout).toMatch(/2 received/);
  });

  it('refuses an invalid desired device without touching the running one', async () => {
    const bad = desired('a');
    (bad.peers[0] as DesiredDevice['peers'][number]).allowedIPs = ['10.78.0.2/40'];
    const result = await a.exec(
      [
        'node',
        '--import',
        'tsx',
        join(import.meta.dirname, 'probe.ts'),
        'wg-apply',
        JSON.stringify({ iface: 'wg0', desired: bad }),
      ],
      { allowFail: true, cwd: join(import.meta.dirname, '..', '..', '..') },
    );
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout.trim())).toMatchObject({
      error: { name: 'ValidationError', operation: 'wireguard.apply' },
    });
    const still = await probe<{ device: DeviceOut }>(a, 'wg-show', { iface: 'wg0' });
    expect(still.device.peers[0]?.allowedIPs).toEqual(['10.78.0.2/32', '10.78.9.0/24']);
  });

  it('deletes the interface it started: the daemon exits', async () => {
    const down = await probe<{ deleted: boolean; exists: boolean }>(a, 'wg-down', { iface: 'wg0' });
    expect(down).toEqual({ deleted: true, exists: false });
    const deadline = Date.now() + 5000;
    while (startedPid !== undefined && alive(startedPid) && Date.now() < deadline) await sleep(50);
    expect(startedPid !== undefined && alive(startedPid)).toBe(false);
    // The daemon's output went where we asked (it logs errors only by default).
    expect(typeof (await readFile(join(logDir, 'wireguard-go-a.log'), 'utf8'))).toBe('string');
  });
});
