import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/keys/x25519.js';
import type { LinkInfo, Links } from '../../src/rtnl/links.js';
import { WireGuard } from '../../src/wireguard/backend.js';
import { WireGuardInterface } from '../../src/wireguard/interface.js';
import { UserspaceDeviceIO } from '../../src/wireguard/userspace/backend.js';
import { DeviceModel, fakeUapi } from './fake-device.js';

/** A userspace daemon that exists once started, and links that hold MTU and up state. */
function world() {
  const model = new DeviceModel();
  const uapi = fakeUapi(model);
  let alive = false;
  const links = new Map<string, LinkInfo>();
  const fakeLinks = {
    async get(name: string) {
      const link = links.get(name);
      return link ? { ...link } : undefined;
    },
    async setMtu(name: string, mtu: number) {
      const link = links.get(name);
      if (link) link.mtu = mtu;
      return true;
    },
    async setUp(name: string, up: boolean) {
      const link = links.get(name);
      if (link) link.up = up;
      return true;
    },
    async delete(name: string) {
      alive = false;
      return links.delete(name);
    },
  } as unknown as Links;
  const transport = { ...uapi, alive: async () => alive };
  const launcher = {
    async start(name: string) {
      alive = true;
      links.set(name, { index: 7, name, mtu: 1500, up: false, lowerUp: false });
      return { pid: 4242 };
    },
  };
  const wg = new WireGuard(new UserspaceDeviceIO(transport, launcher, fakeLinks));
  return { model, uapi, links, iface: new WireGuardInterface(wg, fakeLinks, 'wk0'), wg };
}

const self = generateKeyPair();
const peer = generateKeyPair().publicKey;
const desired = {
  mtu: 1420,
  device: {
    privateKey: self.privateKey,
    listenPort: 51820,
    fwmark: 0x574b,
    peers: [{ publicKey: peer, endpoint: '203.0.113.5:51820', allowedIPs: ['10.0.0.5/32'] }],
  },
};

describe('WireGuardInterface.set', () => {
  it('creates the interface, sets MTU and up, configures the device; a second set changes nothing', async () => {
    const { iface, links, model } = world();
    const first = await iface.set(desired);
    expect(first).toMatchObject({
      changed: true,
      link: ['created', 'mtu', 'up'],
      added: [peer],
      removed: [],
      updated: [],
    });
    expect(links.get('wk0')).toMatchObject({ mtu: 1420, up: true });
    expect(model.state.peers.map((p) => p.publicKey)).toEqual([peer]);
    expect(await iface.set(desired)).toMatchObject({
      changed: false,
      link: [],
      added: [],
      removed: [],
      updated: [],
      device: [],
    });
  });

  it('diffs against the reading it is handed instead of reading again', async () => {
    const { iface, uapi, wg } = world();
    await iface.set(desired);
    const actual = await wg.getDevice('wk0');
    const reads = () => uapi.requests.filter((r) => r === 'get=1\n\n').length;
    const before = reads();
    expect((await iface.set(desired, { actual })).changed).toBe(false);
    expect(reads()).toBe(before);
    // A reading without the private key still proves whose device it is (through the public key).
    const { privateKey: _hidden, ...withoutPrivate } = actual;
    expect((await iface.set(desired, { actual: withoutPrivate })).device).toEqual([]);
  });

  it('set(undefined) deletes the interface; again, it changes nothing', async () => {
    const { iface, links } = world();
    await iface.set(desired);
    expect(await iface.set(undefined)).toMatchObject({ changed: true, link: ['deleted'] });
    expect(links.has('wk0')).toBe(false);
    expect(await iface.set(undefined)).toMatchObject({ changed: false, link: [] });
  });
});
