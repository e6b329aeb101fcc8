import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLab,
  type Lab,
  type LabHost,
  stunProbe,
  wgKeys,
  wgLatestHandshakes,
  wgUp,
} from '../src/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two hosts with tunnels pointed at each other's public address:51820, keepalive 1 s on both sides. */
async function pair(a: LabHost, b: LabHost, tunnel: [string, string]) {
  const [keysA, keysB] = await Promise.all([wgKeys(a), wgKeys(b)]);
  await Promise.all([
    wgUp(a, {
      iface: 'wg0',
      keys: keysA,
      listenPort: 51820,
      address: `${tunnel[0]}/24`,
      peers: [
        {
          publicKey: keysB.publicKey,
          endpoint: `${b.publicAddress}:51820`,
          allowedIPs: [`${tunnel[1]}/32`],
          persistentKeepalive: 1,
        },
      ],
    }),
    wgUp(b, {
      iface: 'wg0',
      keys: keysB,
      listenPort: 51820,
      address: `${tunnel[1]}/24`,
      peers: [
        {
          publicKey: keysA.publicKey,
          endpoint: `${a.publicAddress}:51820`,
          allowedIPs: [`${tunnel[0]}/32`],
          persistentKeepalive: 1,
        },
      ],
    }),
  ]);
  return { keysA, keysB };
}

async function handshakeWithin(host: LabHost, peerKey: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (((await wgLatestHandshakes(host, 'wg0')).get(peerKey) ?? 0) > 0) return true;
    await sleep(200);
  }
  return false;
}

describe('lab network: NAT, STUN and wireguard-go', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({
      hosts: [
        { name: 'pub', nat: 'none' },
        { name: 'cone1', nat: 'cone', lan: 'lan1' },
        { name: 'cone1b', nat: 'cone', lan: 'lan1' },
        { name: 'cone2', nat: 'cone', lan: 'lan2' },
        { name: 'sym1', nat: 'symmetric', lan: 'lan3' },
        { name: 'sym2', nat: 'symmetric', lan: 'lan4' },
      ],
      stun: true,
    });
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('gives every host the addresses the contract promises', () => {
    expect(lab.host('pub').address).toBe(lab.host('pub').publicAddress);
    expect(lab.host('cone1').publicAddress).toBe(lab.host('cone1b').publicAddress);
    expect(lab.host('cone1').address).not.toBe(lab.host('cone1b').address);
    expect(lab.host('cone1').address).toMatch(/^10\./);
    expect(lab.stunServers).toHaveLength(2);
    for (const host of lab.hosts) expect(host.netns.startsWith(`${lab.id}-`)).toBe(true);
  });

  it('a public host is seen at its own address by STUN', async () => {
    const { mapped } = await stunProbe(lab.host('pub'), lab.stunServers, 40000);
    expect(mapped).toEqual([`${lab.host('pub').address}:40000`, `${lab.host('pub').address}:40000`]);
  });

  it('behind the cone NAT both STUN addresses see the same mapped address and port', async () => {
    const host = lab.host('cone1');
    const { mapped } = await stunProbe(host, lab.stunServers, 40001);
    expect(mapped[0]).toBe(`${host.publicAddress}:40001`);
    expect(mapped[1]).toBe(mapped[0]);
  });

  it('behind the symmetric NAT each STUN address sees a different mapped port', async () => {
    const host = lab.host('sym1');
    const { mapped } = await stunProbe(host, lab.stunServers, 40002);
    const [first, second] = mapped.map((entry) => entry.split(':'));
    expect(first?.[0]).toBe(host.publicAddress);
    expect(second?.[0]).toBe(host.publicAddress);
    expect(first?.[1]).not.toBe(second?.[1]);
  });

  it('hosts in one LAN reach each other directly, by LAN address', async () => {
    const result = await lab.host('cone1').exec(['ping', '-c1', '-W2', lab.host('cone1b').address]);
    expect(result.stdout).toContain('1 received');
  });

  it('a NAT router drops unsolicited input on its WAN', async () => {
    const result = await lab
      .host('pub')
      .exec(['ping', '-c1', '-W1', lab.host('cone1').publicAddress], { allowFail: true });
    expect(result.code).not.toBe(0);
  });

  it('each host has a private /run/wireguard, so wg0 can exist in two hosts at once', async () => {
    const a = await lab.host('pub').wireguardGo('wgx');
    const b = await lab.host('cone1b').wireguardGo('wgx');
    const show = await lab.host('pub').exec(['wg', 'show', 'interfaces']);
    expect(show.stdout.trim()).toBe('wgx');
    expect(a.pid).not.toBe(b.pid);
    await Promise.all([a.stop(), b.stop()]);
    expect(a.done && b.done).toBe(true);
  });

  it('two wireguard-go hosts behind cone NATs handshake with endpoints set by hand', async () => {
    const a = lab.host('cone1');
    const b = lab.host('cone2');
    const { keysB } = await pair(a, b, ['10.222.0.1', '10.222.0.2']);
    // WireGuard retries a lost first handshake after 5 s, and the first one is lost to the far router's drop.
    expect(await handshakeWithin(a, keysB.publicKey, 15_000)).toBe(true);
    const ping = await a.exec(['ping', '-c1', '-W2', '10.222.0.2']);
    expect(ping.stdout).toContain('1 received');
  });

  it('two wireguard-go hosts behind symmetric NATs do not handshake', async () => {
    const a = lab.host('sym1');
    const b = lab.host('sym2');
    const { keysB, keysA } = await pair(a, b, ['10.223.0.1', '10.223.0.2']);
    // Long enough for the first attempt and the 5 s retry from both sides.
    expect(await handshakeWithin(a, keysB.publicKey, 7_000)).toBe(false);
    expect(await handshakeWithin(b, keysA.publicKey, 100)).toBe(false);
  });
});
