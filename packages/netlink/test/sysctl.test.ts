import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SysctlError } from '../src/errors.js';
import { meshSysctls, Sysctls } from '../src/sysctl/sysctl.js';

describe('sysctls under a configurable proc root', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'wk-sysctl-'));
    await mkdir(join(root, 'net/ipv4/conf/wire.kube'), { recursive: true });
    for (const name of ['disable_xfrm', 'disable_policy', 'rp_filter', 'accept_local']) {
      await writeFile(join(root, 'net/ipv4/conf/wire.kube', name), '0\n');
    }
    await writeFile(join(root, 'net/ipv4/ip_forward'), '1\n');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('sets the mesh sysctls once (an interface name with a dot is one path component)', async () => {
    const sysctls = new Sysctls({ procRoot: root });
    const settings = meshSysctls({ iface: 'wire.kube' });
    expect((await sysctls.set(settings)).updated).toEqual([
      { key: 'net.ipv4.conf.wire.kube.disable_xfrm', from: '0', to: '1' },
      { key: 'net.ipv4.conf.wire.kube.disable_policy', from: '0', to: '1' },
      { key: 'net.ipv4.conf.wire.kube.rp_filter', from: '0', to: '2' },
      { key: 'net.ipv4.conf.wire.kube.accept_local', from: '0', to: '1' },
    ]);
    expect(await readFile(join(root, 'net/ipv4/conf/wire.kube/rp_filter'), 'utf8')).toBe('2\n');
    expect(await sysctls.set(settings)).toEqual({ changed: false, added: [], removed: [], updated: [] });
  });

  it('reports a missing entry with its path and errno, and refuses path tricks', async () => {
    const sysctls = new Sysctls({ procRoot: root });
    const error = await sysctls
      .write(['net', 'ipv4', 'conf', 'nope', 'rp_filter'], 1)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SysctlError);
    expect(error).toMatchObject({ operation: 'sysctl.get', code: 'ENOENT', errno: 2 });
    expect(() => sysctls.path(['net', '..', 'etc'])).toThrow(SysctlError);
  });
});
