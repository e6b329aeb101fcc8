// @wirekube/netlink against the real kernel, inside a lab namespace: routes in table 22347 with src, the
// priority-200 rule, the fwmark 0x574b rule, sysctls, tagged iptables rules next to untagged ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab, type LabHost } from '../../src/index.js';
import { probe } from './run-probe.js';

const TABLE = 22347;
const FWMARK = 0x574b;
const IFACE = 'wk_test0';

const routes = [
  { dst: '10.77.0.2/32', table: TABLE, dev: IFACE, src: '10.77.0.1' },
  { dst: '172.20.0.0/16', table: TABLE, dev: IFACE, src: '10.77.0.1' },
];
const rules = [
  { priority: 200, table: TABLE },
  { priority: 199, table: 254, fwmark: FWMARK },
  { priority: 198, table: 254, suppressPrefixLength: 0 },
];
const routingInput = (r = routes, ru = rules) => ({
  iface: IFACE,
  address: '10.77.0.1/32',
  table: TABLE,
  routes: r,
  rules: ru,
  ownedPriorities: [198, 199, 200],
});

interface RoutingOutput {
  routes: { replaced: number; removed: number };
  rules: { added: number; removed: number };
  table: Array<{ dst: string; dev?: string; src?: string; table: number }>;
}

async function ipJson<T>(host: LabHost, argv: string[]): Promise<T> {
  return JSON.parse((await host.exec(['ip', '-j', ...argv])).stdout || '[]') as T;
}

describe('netlink: rtnetlink, sysctls and iptables in a lab namespace', () => {
  let lab: Lab;
  let host: LabHost;

  beforeAll(async () => {
    lab = await createLab({ hosts: [{ name: 'node1', nat: 'none' }] });
    host = lab.host('node1');
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('installs routes in table 22347 with src, and the rules, idempotently, repairing drift', async () => {
    const first = await probe<RoutingOutput>(host, 'routing', routingInput());
    expect(first.routes).toEqual({ replaced: 2, removed: 0 });
    expect(first.rules).toEqual({ added: 3, removed: 0 });

    const table = await ipJson<Array<{ dst: string; dev: string; prefsrc: string }>>(host, [
      'route',
      'show',
      'table',
      String(TABLE),
    ]);
    expect(table.map((r) => [r.dst, r.dev, r.prefsrc]).sort()).toEqual([
      ['10.77.0.2', IFACE, '10.77.0.1'],
      ['172.20.0.0/16', IFACE, '10.77.0.1'],
    ]);
    const ipRules = await ipJson<Array<Record<string, unknown>>>(host, ['rule', 'show']);
    expect(ipRules).toContainEqual(expect.objectContaining({ priority: 200, table: String(TABLE) }));
    expect(ipRules).toContainEqual(
      expect.objectContaining({ priority: 199, fwmark: '0x574b', table: 'main' }),
    );
    expect(ipRules).toContainEqual(
      expect.objectContaining({ priority: 198, table: 'main', suppress_prefixlen: 0 }),
    );

    // A second reconcile of the same desired state changes nothing.
    const second = await probe<RoutingOutput>(host, 'routing', routingInput());
    expect(second.routes).toEqual({ replaced: 0, removed: 0 });
    expect(second.rules).toEqual({ added: 0, removed: 0 });

    // Another daemon deletes our route and rule, and adds stray routes (one a blackhole) to our table: the reconciler repairs.
    await host.exec(['ip', 'route', 'del', '10.77.0.2/32', 'table', String(TABLE)]);
    await host.exec(['ip', 'rule', 'del', 'priority', '200']);
    await host.exec(['ip', 'route', 'add', '10.99.0.0/24', 'dev', IFACE, 'table', String(TABLE)]);
    await host.exec(['ip', 'route', 'add', 'blackhole', '10.98.0.0/24', 'table', String(TABLE)]);
    const repaired = await probe<RoutingOutput>(host, 'routing', routingInput());
    expect(repaired.routes).toEqual({ replaced: 1, removed: 2 });
    expect(repaired.rules).toEqual({ added: 1, removed: 0 });
    expect(repaired.table.map((r) => r.dst).sort()).toEqual(['10.77.0.2/32', '172.20.0.0/16']);
    expect(repaired.table.every((r) => r.src === '10.77.0.1' && r.dev === IFACE)).toBe(true);

    // The kernel really uses them: a lookup for 10.77.0.2 goes through table 22347 with our source address.
    const lookup = await ipJson<Array<{ dev: string; prefsrc: string }>>(host, ['route', 'get', '10.77.0.2']);
    expect(lookup[0]).toMatchObject({ dev: IFACE, prefsrc: '10.77.0.1' });

    // Cleanup: nothing desired empties the table and removes our rules, and only ours.
    const cleared = await probe<RoutingOutput>(host, 'routing', routingInput([], []));
    expect(cleared.routes.removed).toBe(2);
    expect(cleared.rules.removed).toBe(3);
    expect(await ipJson<unknown[]>(host, ['route', 'show', 'table', String(TABLE)])).toEqual([]);
    const left = await ipJson<Array<{ priority: number }>>(host, ['rule', 'show']);
    expect(left.map((r) => r.priority)).toEqual([0, 32766, 32767]);
  });

  it('speaks generic netlink to the real kernel with our own attribute code; no wireguard family here', async () => {
    const out = await probe<{ ctrl: number; familyIdFromReply: number; wireguard: unknown }>(
      host,
      'genl',
      {},
    );
    expect(out.ctrl).toBe(16); // GENL_ID_CTRL
    expect(out.familyIdFromReply).toBe(16);
    expect(out.wireguard).toEqual({
      error: { name: 'NetlinkError', operation: 'genl.family', errno: 2, code: 'ENOENT' },
    });
  });

  it('sets the mesh sysctls once', async () => {
    const extra = [{ key: ['net', 'ipv4', 'conf', 'all', 'accept_local'], value: 1 }];
    const first = await probe<{ changes: Array<{ key: string; to: string }> }>(host, 'sysctls', {
      iface: IFACE,
      extra,
    });
    expect(first.changes.map((c) => c.key)).toEqual(
      expect.arrayContaining([
        `net.ipv4.conf.${IFACE}.disable_xfrm`,
        `net.ipv4.conf.${IFACE}.disable_policy`,
        `net.ipv4.conf.${IFACE}.rp_filter`,
        `net.ipv4.conf.${IFACE}.accept_local`,
      ]),
    );
    const read = async (path: string) => (await host.exec(['cat', `/proc/sys/${path}`])).stdout.trim();
    expect(await read(`net/ipv4/conf/${IFACE}/disable_xfrm`)).toBe('1');
    expect(await read(`net/ipv4/conf/${IFACE}/disable_policy`)).toBe('1');
    expect(await read(`net/ipv4/conf/${IFACE}/rp_filter`)).toBe('2');
    expect(await read(`net/ipv4/conf/${IFACE}/accept_local`)).toBe('1');
    expect(await read('net/ipv4/ip_forward')).toBe('1');
    const second = await probe<{ changes: unknown[] }>(host, 'sysctls', { iface: IFACE, extra });
    expect(second.changes).toEqual([]);
  });

  it('reconciles tagged iptables rules: added, listed, reconciled, removed; untagged rules survive', async () => {
    const drop =
      '! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP';
    await host.exec(['sh', '-c', `iptables -N KUBE-FIREWALL && iptables -A KUBE-FIREWALL ${drop}`]);
    await host.exec(['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '10.1.0.0/16', '-j', 'MASQUERADE']);
    const relay = {
      table: 'filter',
      chain: 'KUBE-FIREWALL',
      spec: ['-d', '127.0.0.0/8', '-m', 'mark', '--mark', '0x574b', '-j', 'ACCEPT'],
      comment: 'wirekube: allow WG relay proxy on loopback',
      position: 'first',
    };
    const masquerade = {
      table: 'nat',
      chain: 'POSTROUTING',
      spec: ['-s', '10.77.0.0/24', '-d', '172.20.0.0/16', '-o', IFACE, '-j', 'MASQUERADE'],
      comment: 'wirekube: gateway masquerade to 172.20.0.0/16',
    };
    const snat = {
      table: 'nat',
      chain: 'POSTROUTING',
      spec: ['-d', '172.21.0.0/16', '-j', 'SNAT', '--to-source', '10.77.0.1'],
      comment: 'wirekube: gateway snat to 172.21.0.0/16',
    };
    interface IptablesOutput {
      changed: boolean;
      added: string[];
      removed: string[];
      moved: string[];
      listed: Array<{ table: string; chain: string; comment: string; index: number }>;
    }
    const save = async () => (await host.exec(['iptables-save'])).stdout;

    const added = await probe<IptablesOutput>(host, 'iptables', { desired: [relay, masquerade, snat] });
    expect(added.added).toEqual([relay.comment, masquerade.comment, snat.comment]);
    expect(added.listed).toEqual([
      { table: 'filter', chain: 'KUBE-FIREWALL', comment: relay.comment, index: 0 },
      { table: 'nat', chain: 'POSTROUTING', comment: masquerade.comment, index: 1 },
      { table: 'nat', chain: 'POSTROUTING', comment: snat.comment, index: 2 },
    ]);
    const saved = await save();
    expect(saved).toContain(
      '-A KUBE-FIREWALL -d 127.0.0.0/8 -m mark --mark 0x574b -m comment --comment "wirekube: allow WG relay proxy on loopback" -j ACCEPT',
    );
    expect(saved.indexOf('wirekube: allow WG relay proxy')).toBeLessThan(
      saved.indexOf('block incoming localnet'),
    );

    const again = await probe<IptablesOutput>(host, 'iptables', { desired: [relay, masquerade, snat] });
    expect(again.changed).toBe(false);

    // Another daemon puts a rule above ours: it moves back to the top; the masquerade is no longer desired.
    await host.exec(['iptables', '-I', 'KUBE-FIREWALL', '1', '-s', '192.0.2.0/24', '-j', 'RETURN']);
    const reconciled = await probe<IptablesOutput>(host, 'iptables', { desired: [relay, snat] });
    expect(reconciled).toMatchObject({
      changed: true,
      added: [],
      removed: [masquerade.comment],
      moved: [relay.comment],
    });
    const afterReconcile = await save();
    expect(afterReconcile.indexOf('wirekube: allow WG relay proxy')).toBeLessThan(
      afterReconcile.indexOf('-j RETURN'),
    );
    expect(afterReconcile).not.toContain(masquerade.comment);

    // The seed's manual cleanup command matches our rule exactly.
    await host.exec([
      'iptables',
      '-t',
      'filter',
      '-D',
      'KUBE-FIREWALL',
      '-m',
      'mark',
      '--mark',
      '0x574b',
      '-d',
      '127.0.0.0/8',
      '-j',
      'ACCEPT',
      '-m',
      'comment',
      '--comment',
      'wirekube: allow WG relay proxy on loopback',
    ]);
    const removed = await probe<IptablesOutput>(host, 'iptables', { desired: [] });
    expect(removed.removed).toEqual([snat.comment]);
    const final = await save();
    expect(final).not.toContain('wirekube');
    expect(final).toContain('-A POSTROUTING -s 10.1.0.0/16 -j MASQUERADE');
    expect(final).toContain('block incoming localnet connections');
    expect(final).toContain('-A KUBE-FIREWALL -s 192.0.2.0/24 -j RETURN');
  });
});
