import { describe, expect, it } from 'vitest';
import { plan } from '../src/plan/plan.js';
import type { DesiredNode, ObservedPeer, PlanInput } from '../src/plan/types.js';
import { input, KEYS, NOW, peer } from './fixtures.js';

const handshake = (key: string, agoMs: number): [string, ObservedPeer] => [
  key,
  { publicKey: key, lastHandshakeMs: NOW - agoMs, rxBytes: 1, txBytes: 1 },
];

interface Case {
  name: string;
  input: Partial<PlanInput>;
  expect: (out: DesiredNode) => void;
}

const cases: Case[] = [
  {
    name: 'no peers: device from the mesh defaults, both rules per family, sysctls, nothing routed',
    input: {},
    expect: (out) => {
      expect(out.device).toEqual({
        name: 'wire_kube',
        listenPort: 51820,
        mtu: 1420,
        fwmark: 0x574b,
        privateKey: input().privateKey,
        peers: [],
      });
      expect(out.rules).toEqual([
        { family: 4, priority: 199, table: 254, fwmark: 0x574b },
        { family: 4, priority: 200, table: 22347 },
      ]);
      expect(out.sysctls).toEqual([
        { key: ['net', 'ipv4', 'conf', 'wire_kube', 'disable_xfrm'], value: 1 },
        { key: ['net', 'ipv4', 'conf', 'wire_kube', 'disable_policy'], value: 1 },
        { key: ['net', 'ipv4', 'conf', 'wire_kube', 'rp_filter'], value: 2 },
        { key: ['net', 'ipv4', 'conf', 'wire_kube', 'accept_local'], value: 1 },
      ]);
      expect(out.routes).toEqual([]);
      expect(out.iptables).toEqual([]);
    },
  },
  {
    name: "relayProxy: the seed's loopback exception, first in KUBE-FIREWALL, with the seed's comment",
    input: { relayProxy: true },
    expect: (out) => {
      expect(out.iptables).toEqual([
        {
          table: 'filter',
          chain: 'KUBE-FIREWALL',
          spec: ['-d', '127.0.0.0/8', '-m', 'mark', '--mark', '0x574b', '-j', 'ACCEPT'],
          comment: 'wirekube: allow WG relay proxy on loopback',
          position: 'first',
        },
      ]);
      // Never the chain itself: only where kube-proxy made it.
      expect(out.iptables.every((rule) => !rule.createChain)).toBe(true);
    },
  },
  {
    name: 'relayProxy false: no tagged rule, so an old one is removed',
    input: { relayProxy: false },
    expect: (out) => expect(out.iptables).toEqual([]),
  },
  {
    name: 'a peer with a key and allowedIPs becomes a WireGuard peer and a /32 route with src = own first AllowedIP',
    input: {
      peers: [
        peer('a', {
          publicKey: KEYS.a,
          endpoint: '198.51.100.7:51820',
          allowedIPs: ['10.0.0.2/32'],
          persistentKeepalive: 25,
        }),
      ],
    },
    expect: (out) => {
      expect(out.device.peers).toEqual([
        {
          name: 'node-a',
          publicKey: KEYS.a,
          endpoint: '198.51.100.7:51820',
          keepRoamedEndpoint: false,
          allowedIPs: ['10.0.0.2/32'],
          persistentKeepalive: 25,
        },
      ]);
      expect(out.routes).toEqual([
        { destination: '10.0.0.2/32', device: 'wire_kube', table: 22347, source: '10.0.0.1' },
      ]);
    },
  },
  {
    name: "this node's own peer object is not a WireGuard peer",
    input: { peers: [peer('self', { publicKey: KEYS.self, allowedIPs: ['10.0.0.1/32'] })] },
    expect: (out) => {
      expect(out.device.peers).toEqual([]);
      expect(out.skipped).toEqual([]);
    },
  },
  {
    name: 'empty allowedIPs: passive, no WireGuard config and no route (seed)',
    input: {
      peers: [
        peer('a', { publicKey: KEYS.a, endpoint: '198.51.100.7:51820', allowedIPs: [] }),
        peer('b', { publicKey: KEYS.b }),
      ],
    },
    expect: (out) => {
      expect(out.device.peers).toEqual([]);
      expect(out.routes).toEqual([]);
      expect(out.passive).toEqual(['node-a', 'node-b']);
    },
  },
  {
    name: 'bad peers are skipped with a reason while good ones are configured',
    input: {
      peers: [
        peer('bad-key', { publicKey: 'base64-encoded-wireguard-public-key', allowedIPs: ['10.0.0.9/32'] }),
        peer('own-key', { publicKey: KEYS.self, allowedIPs: ['10.0.0.8/32'] }),
        peer('a', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32'] }),
        peer('dup', { publicKey: KEYS.a, allowedIPs: ['10.0.0.3/32'] }),
        peer('clash-self', { publicKey: KEYS.b, allowedIPs: ['10.0.0.0/24'] }),
        peer('clash-a', { publicKey: KEYS.c, allowedIPs: ['10.0.0.2/32', '10.9.0.0/16'] }),
      ],
    },
    expect: (out) => {
      expect(out.device.peers.map((p) => p.name)).toEqual(['node-a']);
      expect(out.skipped).toEqual([
        {
          name: 'node-bad-key',
          reason: 'publicKey is not a base64 WireGuard key ("base64-encoded-wireguard-public-key")',
        },
        { name: 'node-clash-a', reason: 'allowedIPs rejected: 10.0.0.2/32 overlaps 10.0.0.2/32 of node-a' },
        {
          name: 'node-clash-self',
          reason: 'allowedIPs rejected: 10.0.0.0/24 overlaps 10.0.0.1/32 of node-self',
        },
        { name: 'node-dup', reason: 'publicKey is already used by node-a' },
        { name: 'node-own-key', reason: "publicKey is this node's own key" },
      ]);
    },
  },
  {
    name: 'a newcomer claiming a proven peer’s address is the one skipped, whatever its name (chaos, issue 15)',
    input: {
      peers: [
        peer('cone2', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32'] }),
        peer('aaa-bogus', { publicKey: KEYS.b, allowedIPs: ['10.0.0.2/32'] }),
        // Same key, so as "proven" as the real one: the older object wins.
        peer('aaa-copycat', { publicKey: KEYS.a, allowedIPs: ['10.0.0.7/32'] }),
      ].map((p, i) => ({
        ...p,
        metadata: {
          ...p.metadata,
          creationTimestamp: new Date(NOW - (i === 0 ? 60_000 : 1_000)).toISOString(),
        },
      })),
      observed: new Map([handshake(KEYS.a, 5_000)]),
    },
    expect: (out) => {
      expect(out.device.peers.map((p) => p.name)).toEqual(['node-cone2']);
      expect(out.skipped).toEqual([
        {
          name: 'node-aaa-bogus',
          reason: 'allowedIPs rejected: 10.0.0.2/32 overlaps 10.0.0.2/32 of node-cone2',
        },
        { name: 'node-aaa-copycat', reason: 'publicKey is already used by node-cone2' },
      ]);
    },
  },
  {
    name: 'between unproven peers the older object keeps the clashing address, then the name decides',
    input: {
      peers: [
        { ...peer('b', { publicKey: KEYS.b, allowedIPs: ['10.0.0.2/32'] }) },
        peer('a', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32'] }),
        peer('c', { publicKey: KEYS.c, allowedIPs: ['10.0.0.2/32'] }),
      ].map((p, i) => ({
        ...p,
        metadata: {
          ...p.metadata,
          creationTimestamp: new Date(NOW - (i === 0 ? 60_000 : 1_000)).toISOString(),
        },
      })),
    },
    expect: (out) => {
      expect(out.device.peers.map((p) => p.name)).toEqual(['node-b']);
      expect(out.skipped.map((s) => s.name)).toEqual(['node-a', 'node-c']);
    },
  },
  {
    name: 'default-deny: a wider prefix is routed only once the peer is proven by a fresh handshake',
    input: { peers: [peer('a', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32', '172.20.0.0/16'] })] },
    expect: (out) => {
      expect(out.routes.map((r) => r.destination)).toEqual(['10.0.0.2/32']);
      expect(out.withheldRoutes).toEqual([
        { name: 'node-a', prefix: '172.20.0.0/16', reason: 'peer not proven by a handshake yet' },
      ]);
      expect(out.device.peers[0]!.allowedIPs).toEqual(['10.0.0.2/32', '172.20.0.0/16']);
    },
  },
  {
    name: 'a fresh handshake proves the peer: all its prefixes are routed and its roamed endpoint is kept',
    input: {
      peers: [
        peer('a', {
          publicKey: KEYS.a,
          endpoint: '198.51.100.7:51820',
          allowedIPs: ['10.0.0.2/32', '172.20.0.0/16'],
        }),
      ],
      observed: new Map([handshake(KEYS.a, 30_000)]),
    },
    expect: (out) => {
      expect(out.connected).toEqual(['node-a']);
      expect(out.routes.map((r) => r.destination)).toEqual(['10.0.0.2/32', '172.20.0.0/16']);
      expect(out.device.peers[0]!.keepRoamedEndpoint).toBe(true);
    },
  },
  {
    name: "a symmetric-NAT peer's published endpoint never overrides a roamed one, even before a handshake",
    input: {
      peers: [
        {
          ...peer('sym', { publicKey: KEYS.a, endpoint: '198.51.100.7:51820', allowedIPs: ['10.0.0.2/32'] }),
          status: { natType: 'symmetric' },
        },
        peer('cone', { publicKey: KEYS.b, endpoint: '198.51.100.8:51820', allowedIPs: ['10.0.0.3/32'] }),
      ],
    },
    expect: (out) => {
      expect(out.device.peers.map((p) => [p.name, p.endpoint, p.keepRoamedEndpoint])).toEqual([
        ['node-cone', '198.51.100.8:51820', false],
        ['node-sym', '198.51.100.7:51820', true],
      ]);
    },
  },
  {
    name: 'a handshake older than 180 s does not count',
    input: {
      peers: [peer('a', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32', '172.20.0.0/16'] })],
      observed: new Map([handshake(KEYS.a, 181_000)]),
    },
    expect: (out) => {
      expect(out.connected).toEqual([]);
      expect(out.routes.map((r) => r.destination)).toEqual(['10.0.0.2/32']);
    },
  },
  {
    name: 'never a route covering the API server, the relay or own addresses, even for a proven peer',
    input: {
      peers: [
        peer('a', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32', '198.51.100.0/24', '192.0.2.10/32'] }),
      ],
      observed: new Map([handshake(KEYS.a, 1_000)]),
      protectedAddresses: ['198.51.100.20', '192.0.2.10'],
    },
    expect: (out) => {
      expect(out.routes.map((r) => r.destination)).toEqual(['10.0.0.2/32']);
      expect(out.withheldRoutes.map((w) => w.prefix)).toEqual(['198.51.100.0/24', '192.0.2.10/32']);
    },
  },
  {
    name: 'a peer behind the same NAT (same public IP) is reached on its LAN address',
    input: {
      peers: [
        peer(
          'lan-mate',
          { publicKey: KEYS.a, endpoint: '203.0.113.1:51820', allowedIPs: ['10.0.0.3/32'] },
          { 'wirekube.io/internal-endpoint': '10.1.0.3:51820' },
        ),
        peer(
          'far',
          { publicKey: KEYS.b, endpoint: '198.51.100.9:51820', allowedIPs: ['10.0.0.4/32'] },
          { 'wirekube.io/internal-endpoint': '10.2.0.4:51820' },
        ),
      ],
    },
    expect: (out) => {
      expect(out.device.peers.map((p) => [p.name, p.endpoint])).toEqual([
        ['node-far', '198.51.100.9:51820'],
        ['node-lan-mate', '10.1.0.3:51820'],
      ]);
    },
  },
  {
    name: 'keepalive is the larger of what the peer asks and what this node publishes',
    input: {
      self: peer('self', { publicKey: KEYS.self, allowedIPs: ['10.0.0.1/32'], persistentKeepalive: 25 }),
      peers: [
        peer('a', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32'] }),
        peer('b', { publicKey: KEYS.b, allowedIPs: ['10.0.0.3/32'], persistentKeepalive: 40 }),
      ],
    },
    expect: (out) => {
      expect(out.device.peers.map((p) => p.persistentKeepalive)).toEqual([25, 40]);
    },
  },
  {
    name: 'no own allowedIPs yet: routes carry no src',
    input: {
      self: undefined,
      peers: [peer('a', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32'] })],
    },
    expect: (out) => {
      expect(out.routes).toEqual([{ destination: '10.0.0.2/32', device: 'wire_kube', table: 22347 }]);
    },
  },
  {
    name: 'IPv6 allowedIPs route with the own IPv6 source; an endpoint that is a DNS name is not configured',
    input: {
      self: peer('self', { publicKey: KEYS.self, allowedIPs: ['10.0.0.1/32', '2001:db8::1/128'] }),
      peers: [
        peer('a', {
          publicKey: KEYS.a,
          endpoint: 'node-a.example.net:51820',
          allowedIPs: ['2001:db8:0:0::2/128'],
        }),
      ],
    },
    expect: (out) => {
      expect(out.routes).toEqual([
        { destination: '2001:db8::2/128', device: 'wire_kube', table: 22347, source: '2001:db8::1' },
      ]);
      expect(out.rules.map((r) => [r.family, r.priority])).toEqual([
        [4, 199],
        [4, 200],
        [6, 199],
        [6, 200],
      ]);
      expect(out.device.peers[0]!.endpoint).toBeUndefined();
    },
  },
  {
    name: 'peers being deleted are dropped; output is in name order whatever the input order',
    input: {
      peers: [
        peer('c', { publicKey: KEYS.c, allowedIPs: ['10.0.0.4/32'] }),
        {
          ...peer('b', { publicKey: KEYS.b, allowedIPs: ['10.0.0.3/32'] }),
          metadata: { name: 'node-b', deletionTimestamp: '2026-11-23T00:00:00Z' },
        },
        peer('a', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32'] }),
      ],
    },
    expect: (out) => {
      expect(out.device.peers.map((p) => p.name)).toEqual(['node-a', 'node-c']);
    },
  },
  {
    name: 'interface name, port and MTU come from the mesh',
    input: { mesh: { ...input().mesh, interfaceName: 'wk0', listenPort: 4500, mtu: 1380 } },
    expect: (out) => {
      expect(out.device).toMatchObject({ name: 'wk0', listenPort: 4500, mtu: 1380 });
      expect(out.sysctls.map((s) => s.key[3])).toEqual(['wk0', 'wk0', 'wk0', 'wk0']);
    },
  },
];

describe('plan()', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    c.expect(plan(input(c.input)));
  });

  it('is deterministic and does not mutate its input', () => {
    const peers = [
      peer('b', { publicKey: KEYS.b, allowedIPs: ['10.0.0.3/32'] }),
      peer('a', { publicKey: KEYS.a, allowedIPs: ['10.0.0.2/32'] }),
    ];
    const snapshot = JSON.stringify(peers);
    const first = plan(input({ peers }));
    expect(plan(input({ peers: [...peers].reverse() }))).toEqual(first);
    expect(JSON.stringify(peers)).toBe(snapshot);
  });
});
