// The Dataplane contract: what the agent may rely on from any Dataplane. The same suite runs on the fake in
// unit tests (dataplane-contract.test.ts) and on the real netlink dataplane with real wireguard-go in a lab
// namespace (e2e/test/netlink/dataplane-contract.test.ts), so the fake cannot drift from the real thing.
import { FWMARK, FWMARK_RULE_PRIORITY, MAIN_TABLE, ROUTE_TABLE, RULE_PRIORITY } from '@wirekube/crd-types';
import { generateKeyPair } from '@wirekube/netlink';
import { meshSysctls, relayLoopbackAccept } from '@wirekube/netlink/net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApplySummary,
  type Dataplane,
  type DeviceSnapshot,
  summaryChanged,
} from '../src/dataplane/types.js';
import type { DesiredNode, DesiredPeer } from '../src/plan/types.js';

export interface ContractEnvironment {
  dataplane: Dataplane;
  /** The public key the dataplane will report for a device holding `privateKey`. */
  publicKeyOf(privateKey: string): string;
  /** An address of this host, usable as a route's `src`. */
  localAddress: string;
  /** Creates an iptables chain as another daemon (kube-proxy) would. */
  addChain(table: 'filter' | 'nat', chain: string): Promise<void>;
  close(): Promise<void>;
}

const IFACE = 'wk_contract';

export function dataplaneContract(name: string, open: () => Promise<ContractEnvironment>): void {
  describe(`Dataplane contract: ${name}`, () => {
    let env: ContractEnvironment;
    const self = generateKeyPair();
    const [a, b, c] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];

    const peer = (peerName: string, publicKey: string, allowedIPs: string[]): DesiredPeer => ({
      name: peerName,
      publicKey,
      // TEST-NET-1: unrouted in a sealed lab namespace, so a keepalive goes nowhere.
      endpoint: `192.0.2.${allowedIPs.length + 10}:51820`,
      keepRoamedEndpoint: false,
      allowedIPs,
      persistentKeepalive: 25,
    });

    const node = (peers: DesiredPeer[], extra: Partial<DesiredNode> = {}): DesiredNode => {
      const routes = peers.flatMap((p) =>
        p.allowedIPs.map((destination) => ({
          destination,
          device: IFACE,
          table: ROUTE_TABLE,
          source: env.localAddress,
        })),
      );
      return {
        device: {
          name: IFACE,
          listenPort: 51820,
          mtu: 1420,
          fwmark: FWMARK,
          privateKey: self.privateKey,
          peers,
        },
        routes,
        rules:
          peers.length > 0
            ? [
                { family: 4, priority: FWMARK_RULE_PRIORITY, table: MAIN_TABLE, fwmark: FWMARK },
                { family: 4, priority: RULE_PRIORITY, table: ROUTE_TABLE },
              ]
            : [],
        sysctls: meshSysctls({ iface: IFACE, ipForward: false }),
        iptables: [],
        skipped: [],
        passive: [],
        connected: [],
        withheldRoutes: [],
        ...extra,
      };
    };

    const two = () => [
      peer('node-a', a.publicKey, ['10.91.0.2/32']),
      peer('node-b', b.publicKey, ['10.91.0.3/32']),
    ];

    // Order is the device's business (wireguard-go lists peers as it likes): compare lists as sets.
    const apply = async (desired: DesiredNode, reading?: DeviceSnapshot): Promise<ApplySummary> => {
      const summary = await env.dataplane.apply(desired, reading);
      for (const value of Object.values(summary)) if (Array.isArray(value)) value.sort();
      return summary;
    };

    const unchanged = (summary: ApplySummary) => {
      expect(summaryChanged(summary), JSON.stringify(summary)).toBe(false);
    };

    beforeAll(async () => {
      env = await open();
    });

    afterEach(async () => {
      // Nothing of ours left for the next case, whatever the case did.
      if (await env.dataplane.readDevice(IFACE)) await apply(node([]));
      if (await env.dataplane.readDevice(IFACE)) await env.dataplane.deleteDevice(IFACE);
    });

    afterAll(async () => {
      await env?.close();
    });

    it('has no device until one is created; a created one has no peers', async () => {
      expect(await env.dataplane.readDevice(IFACE)).toBeUndefined();
      await env.dataplane.createDevice(IFACE, 1420);
      expect(await env.dataplane.readDevice(IFACE)).toMatchObject({ peers: [] });
      await env.dataplane.deleteDevice(IFACE);
      expect(await env.dataplane.readDevice(IFACE)).toBeUndefined();
    });

    it('programs device, peers, routes and rules; a second apply of the same state changes nothing', async () => {
      await env.dataplane.createDevice(IFACE, 1420);
      const desired = node(two());
      const first = await apply(desired);
      expect(first).toMatchObject({
        deviceChanged: true,
        peersAdded: ['node-a', 'node-b'],
        peersRemoved: [],
        peersUpdated: [],
        routesRemoved: [],
        rulesAdded: 2,
        rulesRemoved: 0,
      });
      expect(first.routesAdded).toEqual(['10.91.0.2/32', '10.91.0.3/32']);
      const wanted = new Set(desired.sysctls.map((s) => s.key.join('.')));
      expect(first.sysctlsChanged.every((key) => wanted.has(key))).toBe(true);
      unchanged(await apply(desired));

      const device = await env.dataplane.readDevice(IFACE);
      expect(device).toMatchObject({ publicKey: env.publicKeyOf(self.privateKey), listenPort: 51820 });
      expect(device?.peers.map((p) => p.publicKey).sort()).toEqual([a.publicKey, b.publicKey].sort());
    });

    it('diffs against the reading it is handed, agreeing with a fresh read', async () => {
      await env.dataplane.createDevice(IFACE, 1420);
      const desired = node(two());
      await apply(desired);
      const reading = await env.dataplane.readDevice(IFACE);
      unchanged(await apply(desired, reading));
      const moved = node([peer('node-a', a.publicKey, ['10.91.0.2/32', '10.91.1.0/24'])]);
      const summary = await apply(moved, reading);
      expect(summary).toMatchObject({ peersRemoved: ['node-b'], peersUpdated: ['node-a'], peersAdded: [] });
    });

    it('changes only what differs: a removed peer, an updated one, their routes', async () => {
      await env.dataplane.createDevice(IFACE, 1420);
      await apply(node(two()));
      const next = node([
        peer('node-a', a.publicKey, ['10.91.0.2/32', '10.91.1.0/24']),
        peer('node-c', c.publicKey, ['10.91.0.4/32']),
      ]);
      const summary = await apply(next);
      expect(summary).toMatchObject({
        peersAdded: ['node-c'],
        peersRemoved: ['node-b'],
        peersUpdated: ['node-a'],
        routesRemoved: ['10.91.0.3/32'],
        rulesAdded: 0,
        rulesRemoved: 0,
      });
      expect(summary.routesAdded).toEqual(['10.91.0.4/32', '10.91.1.0/24']);
      unchanged(await apply(next));
    });

    it('creates a missing interface on apply (level-triggered)', async () => {
      const summary = await apply(node(two()));
      expect(summary).toMatchObject({ deviceChanged: true, peersAdded: ['node-a', 'node-b'] });
      expect((await env.dataplane.readDevice(IFACE))?.peers).toHaveLength(2);
    });

    it('skips a tagged rule whose chain is missing, never creating it; adds it once the chain exists', async () => {
      await env.dataplane.createDevice(IFACE, 1420);
      const relay = relayLoopbackAccept(FWMARK);
      const withRelay = node(two(), { iptables: [relay] });
      const skipped = await apply(withRelay);
      expect(skipped).toMatchObject({ iptablesSkipped: [relay.comment], iptablesAdded: [] });
      expect(summaryChanged(await apply(withRelay))).toBe(false);

      await env.addChain('filter', 'KUBE-FIREWALL');
      const added = await apply(withRelay);
      expect(added).toMatchObject({ iptablesAdded: [relay.comment], iptablesSkipped: [] });
      unchanged(await apply(withRelay));
      const removed = await apply(node(two()));
      expect(removed).toMatchObject({ iptablesRemoved: [relay.comment], iptablesAdded: [] });
    });

    it('the empty state removes every peer, route, rule and tagged rule of ours', async () => {
      await env.dataplane.createDevice(IFACE, 1420);
      const relay = relayLoopbackAccept(FWMARK);
      await env.addChain('filter', 'KUBE-FIREWALL');
      await apply(node(two(), { iptables: [relay] }));
      const summary = await apply(node([]));
      expect(summary).toMatchObject({
        peersRemoved: ['node-a', 'node-b'],
        rulesRemoved: 2,
        iptablesRemoved: [relay.comment],
      });
      expect(summary.routesRemoved).toEqual(['10.91.0.2/32', '10.91.0.3/32']);
      unchanged(await apply(node([])));
    });
  });
}
