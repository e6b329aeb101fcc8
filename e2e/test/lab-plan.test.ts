import { describe, expect, it } from 'vitest';
import { LabSpecError } from '../src/index.js';
import { configurationBatches, creationBatch } from '../src/topology/apply.js';
import { planTopology, routerRuleset } from '../src/topology/plan.js';
import { resolveHosts } from '../src/topology/spec.js';

// Pure planning: no root, no kernel.
describe('lab topology plan', () => {
  const hosts = resolveHosts([
    { name: 'pub', nat: 'none' },
    { name: 'c1', nat: 'cone', lan: 'home' },
    { name: 'c2', nat: 'cone', lan: 'home' },
    { name: 's', nat: 'symmetric' },
  ]);
  const plan = planTopology({
    prefix: 'wkab12',
    hosts,
    stun: true,
    controlPlaneLink: { rootAddress: '10.255.1.1', nsAddress: '10.255.1.2', prefixLength: 30 },
  });

  it('names every namespace with the run prefix', () => {
    expect(plan.namespaces.map((ns) => ns.name)).toEqual([
      'wkab12-internet',
      'wkab12-pub',
      'wkab12-r-home',
      'wkab12-c1',
      'wkab12-c2',
      'wkab12-r-lan-s',
      'wkab12-s',
      'wkab12-stun',
      'wkab12-cp',
    ]);
  });

  it('puts hosts of one LAN behind one router and gives them its WAN address as public address', () => {
    const c1 = plan.hosts.find((host) => host.name === 'c1');
    const c2 = plan.hosts.find((host) => host.name === 'c2');
    expect(c1?.publicAddress).toBe(c2?.publicAddress);
    expect(c1?.gateway).toBe('10.100.0.1');
    expect([c1?.address, c2?.address]).toEqual(['10.100.0.10', '10.100.0.11']);
    expect(plan.hosts.find((host) => host.name === 'pub')?.publicAddress).toBe('203.0.113.10');
  });

  it('uses only documentation ranges outside LANs and never a default route', () => {
    for (const route of plan.routes) expect(route.dst).not.toBe('default');
    const addresses = [...plan.veths.flatMap(({ a, b }) => [...a.addresses, ...b.addresses])];
    for (const address of addresses) expect(address).toMatch(/^(203\.0\.113|198\.51\.100|10)\./);
  });

  it('only routers forward; the control plane namespace does not', () => {
    expect(plan.namespaces.filter((ns) => ns.forwarding).map((ns) => ns.role)).toEqual(['router', 'router']);
  });

  it('links the root namespace only to the control plane, with a short interface name', () => {
    const rootEnds = plan.veths.flatMap(({ a, b }) => [a, b]).filter((end) => end.netns === null);
    expect(rootEnds.map((end) => end.ifname)).toEqual(['wkab12-cp']);
    expect(creationBatch(plan)).toContain('link add name wkab12-cp type veth peer name root netns wkab12-cp');
    expect(configurationBatches(plan).get(null)).toEqual([
      'address add 10.255.1.1/30 dev wkab12-cp',
      'link set dev wkab12-cp up',
    ]);
  });

  it('masquerades port-preserving for cone, fully random for symmetric, and drops unsolicited WAN input', () => {
    expect(routerRuleset('cone')).toMatch(/oifname "wan" masquerade\n/);
    expect(routerRuleset('symmetric')).toContain('masquerade fully-random');
    for (const nat of ['cone', 'symmetric'] as const) {
      expect(routerRuleset(nat)).toMatch(/chain input \{[^}]*iifname "wan" drop/);
      expect(routerRuleset(nat)).toMatch(/chain forward \{[^}]*iifname "wan" drop/);
    }
  });

  it('rejects bad specs with the field named', () => {
    const cases: [unknown, string][] = [
      [[{ name: 'UPPER', nat: 'none' }], 'hosts[0].name'],
      [[{ name: 'internet', nat: 'none' }], 'hosts[0].name'],
      [[{ name: 'a', nat: 'full-cone' }], 'hosts[0].nat'],
      [[{ name: 'a', nat: 'none', lan: 'x' }], 'hosts[0].lan'],
      [
        [
          { name: 'a', nat: 'none' },
          { name: 'a', nat: 'none' },
        ],
        'hosts[1].name',
      ],
    ];
    for (const [spec, field] of cases) {
      expect(() => resolveHosts(spec as never)).toThrow(LabSpecError);
      expect(() => resolveHosts(spec as never)).toThrow(field);
    }
  });
});
