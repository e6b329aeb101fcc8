import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../src/index.js';

// Only `ip route get` (a routing-table lookup, no packet leaves) is used to probe outside addresses: the
// sealing test proves unreachability without sending traffic anywhere but the lab.
function rootAddresses(family: '-4' | '-6'): string[] {
  const out = spawnSync('ip', [family, '-o', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((line) => line.split(/\s+/)[3]?.split('/')[0])
    .filter((address): address is string => Boolean(address));
}

const OUTSIDE_V4 = [
  '169.254.169.254',
  '8.8.8.8',
  '1.1.1.1',
  '10.0.0.1',
  '172.16.0.1',
  '192.168.1.1',
  '192.0.2.1',
];
const OUTSIDE_V6 = ['2001:4860:4860::8888', 'fd00::1'];

describe('lab sealing', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({
      hosts: [
        { name: 'pub', nat: 'none' },
        { name: 'cone', nat: 'cone' },
        { name: 'sym', nat: 'symmetric' },
      ],
      stun: true,
      controlPlane: true,
    });
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('no lab namespace has a default route', () => {
    for (const netns of lab.namespaces) {
      for (const family of ['-4', '-6']) {
        const routes = spawnSync('ip', ['-n', netns, family, 'route', 'show', 'table', 'all'], {
          encoding: 'utf8',
        });
        expect(routes.stdout, `${netns} ${family}`).not.toMatch(/^default/m);
      }
    }
  });

  it('no lab namespace routes to the machine, the metadata service or any outside address', () => {
    const controlPlane = lab.plan.controlPlane!;
    const machine = rootAddresses('-4');
    expect(machine).toContain(controlPlane.rootLink.rootAddress);
    expect(machine.length).toBeGreaterThan(1);
    const targets = [...machine, ...OUTSIDE_V4, ...rootAddresses('-6'), ...OUTSIDE_V6];
    for (const netns of lab.namespaces) {
      for (const target of targets) {
        // The control plane answers the root namespace over its own link, and only there.
        if (netns === controlPlane.netns && target === controlPlane.rootLink.rootAddress) continue;
        const lookup = spawnSync('ip', ['-n', netns, 'route', 'get', target], { encoding: 'utf8' });
        expect(lookup.status, `${netns} → ${target}: ${lookup.stdout}`).not.toBe(0);
        expect(lookup.stderr).toMatch(/unreachable/i);
      }
    }
  });

  it('no lab namespace is linked to the root namespace except through the control plane link', () => {
    const root = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
    const linked = root
      .split('\n')
      .filter((line) => lab.namespaces.some((ns) => line.includes(`link-netns ${ns}`)));
    const allowed = [lab.plan.controlPlane!.rootLink.rootIfname];
    expect(linked.map((line) => line.split(':')[1]?.trim().split('@')[0])).toEqual(allowed);
  });

  it('the root namespace reaches the API server over its link, lab hosts over the lab internet', async () => {
    const cp = lab.controlPlane!;
    const fromRoot = await cp.kubectl(['get', '--raw', '/readyz']);
    expect(fromRoot.stdout.trim()).toBe('ok');
    const fromHost = await lab
      .host('sym')
      .exec(['kubectl', `--kubeconfig=${cp.hostKubeconfigPath}`, 'get', '--raw', '/readyz']);
    expect(fromHost.stdout.trim()).toBe('ok');
  });

  it('only NAT routers forward (the control plane namespace does not)', async () => {
    for (const ns of lab.plan.namespaces) {
      const value = spawnSync('ip', ['netns', 'exec', ns.name, 'cat', '/proc/sys/net/ipv4/ip_forward'], {
        encoding: 'utf8',
      }).stdout.trim();
      expect(`${ns.name}=${value}`).toBe(`${ns.name}=${ns.forwarding ? 1 : 0}`);
    }
  });
});
