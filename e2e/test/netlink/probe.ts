// Runs inside a lab host (rtnetlink, /proc/sys/net, iptables and the UAPI socket all act on the caller's
// namespace): `node --import tsx probe.ts <command> '<json>'`, prints one JSON object. The vitest files next
// to it start it through host.exec and check its output against `ip`, `iptables-save` and `wg` run in the
// same host.
import {
  commandRunner,
  type DesiredDevice,
  IptablesRules,
  type IptablesTable,
  openNetwork,
  openWireGuard,
  type RouteSpec,
  type RuleSpec,
  Sysctls,
  type TaggedRule,
} from '@wirekube/netlink';
import { nlattr, openGenl, wgUapi } from '@wirekube/netlink/internals';
import { meshSysctls, type SysctlSetting } from '@wirekube/netlink/net';

const [command = '', argument = '{}'] = process.argv.slice(2);
const input = JSON.parse(argument) as Record<string, unknown>;

async function routing() {
  const { iface, address, table, routes, rules, ownedPriorities } = input as {
    iface: string;
    address: string;
    table: number;
    routes: RouteSpec[];
    rules: RuleSpec[];
    ownedPriorities: number[];
  };
  const net = openNetwork();
  try {
    const link = (await net.links.get(iface)) ?? (await net.links.create(iface, 'veth'));
    const mtu = await net.links.setMtu(iface, 1420);
    const up = await net.links.setUp(iface, true);
    const addresses = await net.addresses.set(iface, [address]);
    const routeResult = await net.routeTable(table).set(routes);
    const ruleResult = await net.ruleSet(ownedPriorities).set(rules);
    return {
      link: { index: link.index, mtuChanged: mtu, upChanged: up },
      addresses,
      routes: {
        replaced: routeResult.added.length + routeResult.updated.length,
        removed: routeResult.removed.length,
      },
      rules: { added: ruleResult.added.length, removed: ruleResult.removed.length },
      table: await net.routeTable(table).list(),
      ruleList: (await net.rules.list(4)).filter((rule) => ownedPriorities.includes(rule.priority)),
    };
  } finally {
    net.close();
  }
}

async function sysctls() {
  const { iface, extra } = input as { iface: string; extra?: SysctlSetting[] };
  const sysctl = new Sysctls();
  const result = await sysctl.set([...meshSysctls({ iface }), ...(extra ?? [])]);
  return { changes: result.updated };
}

async function iptables() {
  const { desired, tables } = input as { desired: TaggedRule[]; tables?: IptablesTable[] };
  const rules = new IptablesRules(commandRunner(), tables ? { tables } : {});
  const result = await rules.set(desired);
  return {
    changed: result.changed,
    added: result.added.map((rule) => rule.comment),
    removed: result.removed.map((rule) => rule.comment),
    moved: result.updated.map((rule) => rule.comment),
    skipped: result.skipped.map((rule) => rule.comment),
    listed: [...(await rules.list('filter')), ...(await rules.list('nat'))].map((rule) => ({
      table: rule.table,
      chain: rule.chain,
      comment: rule.comment,
      index: rule.index,
    })),
  };
}

/** Brings up a WireGuard interface through the detected backend and applies `desired` twice. */
async function wgUp() {
  const { iface, mtu, address, desired, logPath } = input as {
    iface: string;
    mtu: number;
    address: string;
    desired: DesiredDevice;
    logPath?: string;
  };
  const { wireguard, detection } = await openWireGuard({ wireguardGo: logPath ? { logPath } : {} });
  const net = openNetwork();
  try {
    const ensured = await wireguard.ensureInterface(iface);
    await net.links.setMtu(iface, mtu);
    await net.addresses.set(iface, [address]);
    await net.links.setUp(iface, true);
    const first = await wireguard.applyDevice(iface, desired);
    const second = await wireguard.applyDevice(iface, desired);
    const link = await net.links.get(iface);
    return { detection, ensured, first, second, device: await wireguard.getDevice(iface), link };
  } finally {
    net.close();
    await wireguard.close();
  }
}

async function wgApply() {
  const { iface, desired, replacePeers } = input as {
    iface: string;
    desired: DesiredDevice;
    replacePeers?: boolean;
  };
  const { wireguard } = await openWireGuard();
  try {
    const result = await wireguard.applyDevice(iface, desired, { replacePeers: replacePeers ?? true });
    return { result, device: await wireguard.getDevice(iface) };
  } finally {
    await wireguard.close();
  }
}

async function wgShow() {
  const { iface } = input as { iface: string };
  const { wireguard } = await openWireGuard();
  try {
    return { device: await wireguard.getDevice(iface) };
  } finally {
    await wireguard.close();
  }
}

async function wgDown() {
  const { iface } = input as { iface: string };
  const { wireguard } = await openWireGuard();
  try {
    return {
      deleted: await wireguard.deleteInterface(iface),
      exists: await wireguard.interfaceExists(iface),
    };
  } finally {
    await wireguard.close();
  }
}

/**
 * The generic netlink transport against the real kernel: family lookup, and one request whose payload we
 * encode and whose reply we parse with the same attribute code the WireGuard encoder uses.
 */
async function genl() {
  const transport = openGenl();
  try {
    const ctrl = await transport.familyId('nlctrl');
    // CTRL_CMD_GETFAMILY (3) with CTRL_ATTR_FAMILY_NAME (2); the reply carries CTRL_ATTR_FAMILY_ID (1).
    const replies = await transport.request(ctrl, 3, 1, nlattr.nla(2, nlattr.cString('nlctrl')));
    const idAttr = replies
      .flatMap((payload) => nlattr.parseAttributes(payload))
      .find((attr) => attr.type === 1);
    let wireguard: unknown;
    try {
      wireguard = { id: await transport.familyId(wgUapi.WG_GENL_NAME) };
    } catch (error) {
      const e = error as { name: string; operation: string; errno: number; code: string };
      wireguard = { error: { name: e.name, operation: e.operation, errno: e.errno, code: e.code } };
    }
    return { ctrl, familyIdFromReply: idAttr ? nlattr.readU16(idAttr) : undefined, wireguard };
  } finally {
    transport.close();
  }
}

const commands: Record<string, () => Promise<unknown>> = {
  genl,
  routing,
  sysctls,
  iptables,
  'wg-up': wgUp,
  'wg-apply': wgApply,
  'wg-show': wgShow,
  'wg-down': wgDown,
};

const run = commands[command];
if (!run) {
  console.error(`unknown command ${command}; one of ${Object.keys(commands).join(', ')}`);
  process.exit(2);
}
run().then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  },
  (error: unknown) => {
    const e = error as Error & Record<string, unknown>;
    process.stdout.write(
      `${JSON.stringify({ error: { name: e.name, message: e.message, operation: e.operation, errno: e.errno, code: e.code } })}\n`,
    );
    process.exit(1);
  },
);
