import { API_VERSION, type WireKubeGateway, type WireKubePeer } from '@wirekube/crd-types';
import { describe, expect, it } from 'vitest';
import { type GatewayPlanInput, planGateways, withGateways } from '../../src/plan/gateway.js';
import type { DesiredNode } from '../../src/plan/types.js';

function peer(name: string, allowedIPs: string[]): WireKubePeer {
  return {
    apiVersion: API_VERSION,
    kind: 'WireKubePeer',
    metadata: { name },
    spec: { publicKey: `${name}=`, allowedIPs },
  };
}

function gateway(
  spec: Partial<WireKubeGateway['spec']> = {},
  status: WireKubeGateway['status'] = { activePeer: 'node-b1', ready: true },
  name = 'vpc-b',
): WireKubeGateway {
  return {
    apiVersion: API_VERSION,
    kind: 'WireKubeGateway',
    metadata: { name },
    spec: { peerRefs: ['node-b1', 'node-b2'], routes: [{ cidr: '172.20.0.0/16' }], ...spec },
    status,
  };
}

const PEERS = [
  peer('node-a1', ['10.1.0.1/32']),
  peer('node-a2', ['10.1.0.2/32']),
  peer('node-b1', ['10.2.0.1/32']),
  peer('node-b2', ['10.2.0.2/32']),
  peer('node-in', ['172.20.5.5/32']),
];

function input(
  selfName: string,
  gateways: WireKubeGateway[],
  extra: Partial<GatewayPlanInput> = {},
): GatewayPlanInput {
  const self = PEERS.find((p) => p.metadata.name === selfName);
  return {
    selfName,
    ...(self ? { self } : {}),
    peers: PEERS,
    gateways,
    protectedAddresses: ['203.0.113.1:6443'],
    interfaceName: 'wire_kube',
    ...extra,
  };
}

describe('planGateways: who is a client (table)', () => {
  it.each([
    { name: 'any peer when clientRefs is empty', self: 'node-a1', gw: gateway(), role: 'client' },
    {
      name: 'listed in clientRefs',
      self: 'node-a1',
      gw: gateway({ clientRefs: ['node-a1'] }),
      role: 'client',
    },
    {
      name: 'not listed in clientRefs',
      self: 'node-a2',
      gw: gateway({ clientRefs: ['node-a1'] }),
      role: 'excluded',
    },
    { name: 'same-CIDR peer (inside the route)', self: 'node-in', gw: gateway(), role: 'excluded' },
    {
      name: 'same-CIDR peer listed explicitly in clientRefs is a client',
      self: 'node-in',
      gw: gateway({ clientRefs: ['node-in'] }),
      role: 'client',
    },
    { name: 'the active gateway', self: 'node-b1', gw: gateway(), role: 'active-gateway' },
    { name: 'a standby gateway', self: 'node-b2', gw: gateway(), role: 'standby-gateway' },
    {
      name: 'a gateway peer in clientRefs is still no client',
      self: 'node-b2',
      gw: gateway({ clientRefs: ['node-b2'] }),
      role: 'standby-gateway',
    },
    { name: 'gateway not ready', self: 'node-a1', gw: gateway({}, { ready: false }), role: 'not-ready' },
    {
      name: 'active peer not in peerRefs (stale status)',
      self: 'node-a1',
      gw: gateway({}, { ready: true, activePeer: 'node-x' }),
      role: 'not-ready',
    },
  ])('$name → $role', ({ self, gw, role }) => {
    const out = planGateways(input(self, [gw]));
    expect(out.roles.get('vpc-b')).toBe(role);
    const routed = role === 'client' && !(self === 'node-in');
    expect(out.routes.length > 0).toBe(routed);
  });
});

describe('planGateways: client data plane', () => {
  it('routes on the active peer with src = own first AllowedIP', () => {
    const out = planGateways(
      input('node-a1', [gateway({ routes: [{ cidr: '172.20.0.0/16' }, { cidr: '192.168.7.0/24' }] })]),
    );
    expect(out.allowedIPs).toEqual(new Map([['node-b1', ['172.20.0.0/16', '192.168.7.0/24']]]));
    expect(out.routes).toEqual([
      { destination: '172.20.0.0/16', device: 'wire_kube', table: 22347, source: '10.1.0.1' },
      { destination: '192.168.7.0/24', device: 'wire_kube', table: 22347, source: '10.1.0.1' },
    ]);
    expect(out.forwarding).toBe(false);
    expect(out.iptables).toEqual([]);
  });

  it('failover moves the routes to the new active peer only', () => {
    const before = planGateways(input('node-a1', [gateway()]));
    const after = planGateways(input('node-a1', [gateway({}, { activePeer: 'node-b2', ready: true })]));
    expect([...before.allowedIPs.keys()]).toEqual(['node-b1']);
    expect([...after.allowedIPs.keys()]).toEqual(['node-b2']);
    expect(after.routes).toEqual(before.routes);
  });

  it.each([
    { name: 'covers the API server', cidr: '203.0.113.0/24', reason: /protected address 203\.0\.113\.1/ },
    { name: 'covers everything', cidr: '0.0.0.0/0', reason: /protected address/ },
    { name: "overlaps the node's own address", cidr: '10.1.0.0/16', reason: /own 10\.1\.0\.1\/32/ },
    { name: "equals another peer's AllowedIP", cidr: '10.2.0.2/32', reason: /already routed to node-b2/ },
  ])('refuses a route that $name', ({ cidr, reason }) => {
    // clientRefs: an own address inside a route would otherwise make this node a same-CIDR non-client.
    const routes = [{ cidr }, { cidr: '172.20.0.0/16' }];
    const out = planGateways(input('node-a1', [gateway({ routes, clientRefs: ['node-a1'] })]));
    expect(out.refused).toEqual([{ gateway: 'vpc-b', cidr, reason: expect.stringMatching(reason) }]);
    expect(out.routes.map((r) => r.destination)).toEqual(['172.20.0.0/16']);
  });

  it('two gateways claiming one CIDR: the first by name keeps it', () => {
    const other = gateway({ peerRefs: ['node-a2'] }, { activePeer: 'node-a2', ready: true }, 'vpc-c');
    const out = planGateways(input('node-a1', [other, gateway()]));
    expect(out.allowedIPs).toEqual(new Map([['node-b1', ['172.20.0.0/16']]]));
    expect(out.refused).toEqual([
      { gateway: 'vpc-c', cidr: '172.20.0.0/16', reason: '172.20.0.0/16 is already routed to node-b1' },
    ]);
  });
});

describe('planGateways: active gateway', () => {
  it('forwards, no SNAT without snat.enabled', () => {
    const out = planGateways(input('node-b1', [gateway()]));
    expect(out.forwarding).toBe(true);
    expect(out.routes).toEqual([]);
    expect(out.iptables.map((r) => [r.table, r.chain, r.spec.join(' ')])).toEqual([
      ['filter', 'FORWARD', '-d 172.20.0.0/16 -i wire_kube -j ACCEPT'],
      ['filter', 'FORWARD', '-s 172.20.0.0/16 -o wire_kube -j ACCEPT'],
    ]);
    for (const rule of out.iptables) expect(rule.comment).toMatch(/^wirekube: gateway vpc-b /);
  });

  it.each([
    { name: 'SNAT to its first AllowedIP by default', sourceIP: '', jump: '-j SNAT --to-source 10.2.0.1' },
    { name: 'SNAT to sourceIP when set', sourceIP: '172.20.0.9', jump: '-j SNAT --to-source 172.20.0.9' },
  ])('$name, for mesh sources outside the route', ({ sourceIP, jump }) => {
    const out = planGateways(input('node-b1', [gateway({ snat: { enabled: true, sourceIP } })]));
    expect(out.iptables.filter((r) => r.table === 'nat').map((r) => r.spec.join(' '))).toEqual([
      `-s 10.1.0.1/32 -d 172.20.0.0/16 ${jump}`,
      `-s 10.1.0.2/32 -d 172.20.0.0/16 ${jump}`,
    ]);
  });

  it('MASQUERADE when the gateway has no AllowedIP to use', () => {
    const self = peer('node-b1', []);
    const out = planGateways(input('node-b1', [gateway({ snat: { enabled: true } })], { self }));
    expect(out.iptables.find((r) => r.table === 'nat')?.spec).toContain('MASQUERADE');
  });
});

describe('withGateways', () => {
  const desired = (connected: string[]): DesiredNode => ({
    device: {
      name: 'wire_kube',
      listenPort: 51820,
      mtu: 1420,
      fwmark: 0x574b,
      privateKey: 'k',
      peers: [
        { name: 'node-b1', publicKey: 'b1', keepRoamedEndpoint: false, allowedIPs: ['10.2.0.1/32'] },
        { name: 'node-b2', publicKey: 'b2', keepRoamedEndpoint: false, allowedIPs: ['10.2.0.2/32'] },
      ],
    },
    routes: [{ destination: '10.2.0.1/32', device: 'wire_kube', table: 22347 }],
    rules: [],
    iptables: [],
    sysctls: [{ key: ['net', 'ipv4', 'ip_forward'], value: 0 }],
    skipped: [],
    passive: [],
    connected,
    withheldRoutes: [],
  });

  it('adds the CIDRs to the active peer only, routes once it is proven', () => {
    const gw = planGateways(input('node-a1', [gateway()]));
    const merged = withGateways(desired(['node-b1']), gw);
    expect(merged.device.peers.map((p) => p.allowedIPs)).toEqual([
      ['10.2.0.1/32', '172.20.0.0/16'],
      ['10.2.0.2/32'],
    ]);
    expect(merged.routes.map((r) => r.destination)).toEqual(['10.2.0.1/32', '172.20.0.0/16']);
    const unproven = withGateways(desired([]), gw);
    expect(unproven.routes.map((r) => r.destination)).toEqual(['10.2.0.1/32']);
    expect(unproven.withheldRoutes).toEqual([
      { name: 'node-b1', prefix: '172.20.0.0/16', reason: 'peer not proven by a handshake yet' },
    ]);
  });

  it('turns forwarding on for the active gateway', () => {
    const merged = withGateways(desired([]), planGateways(input('node-b1', [gateway()])));
    expect(merged.sysctls).toEqual([{ key: ['net', 'ipv4', 'ip_forward'], value: 1 }]);
  });

  it('puts the gateway rules into the node plan, where the one iptables applier sets them', () => {
    const own = {
      table: 'filter' as const,
      chain: 'KUBE-FIREWALL',
      spec: ['-j', 'ACCEPT'],
      comment: 'wirekube: x',
    };
    const gw = planGateways(input('node-b1', [gateway({ snat: { enabled: true } })]));
    const merged = withGateways({ ...desired([]), iptables: [own] }, gw);
    expect(gw.iptables.length).toBeGreaterThan(0);
    expect(merged.iptables).toEqual([own, ...gw.iptables]);
  });
});
