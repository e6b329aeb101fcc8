import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { NetlinkError } from '../../src/errors.js';
import type { Links } from '../../src/rtnl/links.js';
import { WireGuard } from '../../src/wireguard/backend.js';
import { detectWireGuardBackend } from '../../src/wireguard/detect.js';
import type { GenlTransport } from '../../src/wireguard/kernel/genl.js';
import { UserspaceDeviceIO } from '../../src/wireguard/userspace/backend.js';
import { DeviceModel, fakeUapi } from './fake-device.js';

const noFamily: GenlTransport = {
  familyId: async () => {
    throw new NetlinkError('genl.family failed', { operation: 'genl.family', errno: 2, code: 'ENOENT' });
  },
  request: async () => [],
  close: () => {},
};

function links(create: () => Promise<void>): Links & { created: string[]; deleted: string[] } {
  const created: string[] = [];
  const deleted: string[] = [];
  return {
    created,
    deleted,
    create: async (name: string) => {
      created.push(name);
      await create();
    },
    delete: async (name: string) => {
      deleted.push(name);
      return true;
    },
  } as unknown as Links & { created: string[]; deleted: string[] };
}

describe('backend detection', () => {
  it('picks the kernel when the genl family is registered, without probing', async () => {
    const fake = links(async () => {});
    const genl = { ...noFamily, familyId: async () => 21 };
    expect(await detectWireGuardBackend(genl, fake)).toMatchObject({ kind: 'kernel' });
    expect(fake.created).toEqual([]);
  });

  it('picks the kernel when a probe link loads the module, and removes the probe', async () => {
    const fake = links(async () => {});
    expect(await detectWireGuardBackend(noFamily, fake)).toMatchObject({ kind: 'kernel' });
    expect(fake.deleted).toEqual(fake.created);
  });

  it('falls back to userspace and says why', async () => {
    const fake = links(async () => {
      throw new NetlinkError('link.create failed', {
        operation: 'link.create',
        errno: 95,
        code: 'EOPNOTSUPP',
      });
    });
    expect(await detectWireGuardBackend(noFamily, fake)).toEqual({
      kind: 'userspace',
      reason: 'no kernel WireGuard (genl family absent, link kind refused: EOPNOTSUPP)',
    });
  });
});

describe('findDevice', () => {
  it('is undefined when no daemon answers, the device otherwise', async () => {
    const uapi = fakeUapi(new DeviceModel());
    let up = false;
    uapi.alive = async () => up;
    const wg = new WireGuard(new UserspaceDeviceIO(uapi, { start: async () => ({ pid: 42 }) }));
    expect(await wg.findDevice('wg0')).toBeUndefined();
    expect(await wg.ensureInterface('wg0')).toEqual({ created: true, pid: 42 });
    up = true;
    expect(await wg.ensureInterface('wg0')).toEqual({ created: false });
    expect(await wg.findDevice('wg0')).toMatchObject({ name: 'wg0', peers: [] });
  });
});

describe('ensureInterface logging', () => {
  it('reports an adopted interface once, not on every pass', async () => {
    const lines: { event?: string; level?: number }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const uapi = fakeUapi(new DeviceModel());
    uapi.alive = async () => true;
    const wg = new WireGuard(new UserspaceDeviceIO(uapi, { start: async () => ({ pid: 42 }) }), { logger });
    for (let i = 0; i < 3; i++) expect(await wg.ensureInterface('wg0')).toEqual({ created: false });
    const adopted = lines.filter((l) => l.event === 'wireguard-interface-adopted');
    expect(adopted.map((l) => l.level)).toEqual([30, 20, 20]);
  });
});
