import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { generateKeyPair } from '../../src/keys/x25519.js';
import type { Links } from '../../src/rtnl/links.js';
import { WireGuard } from '../../src/wireguard/backend.js';
import { KernelDeviceIO } from '../../src/wireguard/kernel/backend.js';
import type { DesiredDevice } from '../../src/wireguard/types.js';
import { UserspaceDeviceIO } from '../../src/wireguard/userspace/backend.js';
import { DeviceModel, fakeGenl, fakeUapi } from './fake-device.js';

const noLinks = undefined as unknown as Links;

function backends() {
  const kernelModel = new DeviceModel();
  const genl = fakeGenl(kernelModel);
  const userspaceModel = new DeviceModel();
  const uapi = fakeUapi(userspaceModel);
  return [
    {
      name: 'kernel',
      model: kernelModel,
      sends: () => kernelModel.writes.length,
      wg: new WireGuard(new KernelDeviceIO(genl, noLinks)),
    },
    {
      name: 'userspace',
      model: userspaceModel,
      sends: () => userspaceModel.writes.length,
      wg: new WireGuard(new UserspaceDeviceIO(uapi, { start: async () => ({ pid: undefined }) })),
    },
  ];
}

const self = generateKeyPair();
const a = generateKeyPair().publicKey;
const b = generateKeyPair().publicKey;
const c = generateKeyPair().publicKey;

const desired = (): DesiredDevice => ({
  privateKey: self.privateKey,
  listenPort: 51820,
  fwmark: 0x574b,
  peers: [
    { publicKey: a, endpoint: '203.0.113.10:51820', persistentKeepalive: 25, allowedIPs: ['10.0.0.2/32'] },
    { publicKey: b, endpoint: '198.51.100.20:51820', allowedIPs: ['10.0.0.3/32', '172.20.0.0/16'] },
  ],
});

describe.each(backends())('$name backend through the shared WireGuard path', ({ wg, model, sends }) => {
  it('configures the device, reads back what was set, and a second apply sends nothing', async () => {
    const first = await wg.applyDevice('wg0', desired());
    expect(first).toMatchObject({
      changed: true,
      device: ['privateKey', 'listenPort', 'fwmark'],
      added: [a, b],
    });
    const device = await wg.getDevice('wg0');
    expect(device).toMatchObject({
      privateKey: self.privateKey,
      publicKey: self.publicKey,
      listenPort: 51820,
      fwmark: 0x574b,
    });
    expect(device.peers.map((p) => [p.publicKey, p.endpoint, p.persistentKeepalive, p.allowedIPs])).toEqual([
      [a, '203.0.113.10:51820', 25, ['10.0.0.2/32']],
      [b, '198.51.100.20:51820', 0, ['10.0.0.3/32', '172.20.0.0/16']],
    ]);
    const before = sends();
    const second = await wg.applyDevice('wg0', desired());
    expect(second.changed).toBe(false);
    expect(sends()).toBe(before);
  });

  it('changes allowed IPs in place, never removing and re-adding the peer', async () => {
    const next = desired();
    next.peers[1] = { ...(next.peers[1] as DesiredDevice['peers'][number]), allowedIPs: ['10.0.0.3/32'] };
    const result = await wg.applyDevice('wg0', next);
    expect(result).toMatchObject({
      added: [],
      removed: [],
      updated: [{ publicKey: b, fields: ['allowedIPs'] }],
    });
    const write = model.writes.at(-1);
    expect(write?.peers).toEqual([
      { publicKey: b, updateOnly: true, replaceAllowedIPs: true, allowedIPs: ['10.0.0.3/32'] },
    ]);
  });

  it('leaves a roamed endpoint alone unless asked, and sets it when forced', async () => {
    model.roam(a, '192.0.2.99:40000');
    const kept = await wg.applyDevice('wg0', {
      ...desired(),
      peers: [
        { ...(desired().peers[0] as DesiredDevice['peers'][number]) },
        { publicKey: b, endpoint: '198.51.100.20:51820', allowedIPs: ['10.0.0.3/32'] },
      ],
    });
    expect(kept.changed).toBe(false);
    expect(kept.keptRoamedEndpoints).toEqual([
      { publicKey: a, actual: '192.0.2.99:40000', desired: '203.0.113.10:51820' },
    ]);
    const forced = await wg.applyDevice('wg0', {
      ...desired(),
      peers: [
        {
          ...(desired().peers[0] as DesiredDevice['peers'][number]),
          endpoint: '127.0.0.1:40001',
          forceEndpoint: true,
        },
        { publicKey: b, endpoint: '198.51.100.20:51820', allowedIPs: ['10.0.0.3/32'] },
      ],
    });
    expect(forced.updated).toEqual([{ publicKey: a, fields: ['endpoint'] }]);
    expect((await wg.getDevice('wg0')).peers.find((p) => p.publicKey === a)?.endpoint).toBe(
      '127.0.0.1:40001',
    );
  });

  it('removes peers no longer desired (replacePeers) and keeps them when told not to', async () => {
    const only = { ...desired(), peers: [{ publicKey: c, allowedIPs: ['10.0.0.4/32'] }] };
    const kept = await wg.applyDevice('wg0', only, { replacePeers: false });
    expect(kept).toMatchObject({ added: [c], removed: [] });
    const replaced = await wg.applyDevice('wg0', only);
    expect(replaced).toMatchObject({ added: [], removed: [a, b] });
    expect((await wg.getDevice('wg0')).peers.map((p) => p.publicKey)).toEqual([c]);
  });

  it('refuses an invalid desired state whole and sends nothing', async () => {
    const before = sends();
    const bad: DesiredDevice = {
      listenPort: 70000,
      peers: [
        { publicKey: 'not-a-key', allowedIPs: [] },
        { publicKey: a, endpoint: 'nowhere', allowedIPs: ['10.0.0.0/33'] },
        { publicKey: b, allowedIPs: ['10.9.0.0/24'] },
        { publicKey: c, allowedIPs: ['10.9.0.1/24'] },
      ],
    };
    const error = await wg.applyDevice('wg0', bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).problems).toEqual([
      'listenPort must be an integer 0..65535',
      'peer[0]: publicKey is not a WireGuard key',
      'peer[1]: endpoint "nowhere" is not ip:port',
      'peer[1]: allowed IP "10.0.0.0/33" is not a CIDR',
      `peer[3]: allowed IP 10.9.0.0/24 is also claimed by peer ${b}`,
    ]);
    expect(sends()).toBe(before);
  });
});

describe('the two backends', () => {
  it('report identical results for the same sequence of desired states', async () => {
    const results = await Promise.all(
      backends().map(async ({ wg }) => {
        const steps = [desired(), { ...desired(), fwmark: 1, peers: desired().peers.slice(1) }, desired()];
        const out = [];
        for (const step of steps) out.push(await wg.applyDevice('wg0', step));
        return out;
      }),
    );
    expect(results[0]).toEqual(results[1]);
  });
});
