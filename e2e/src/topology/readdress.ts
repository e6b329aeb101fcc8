import { LabSpecError } from '../errors.js';
import type { NamespaceShell } from '../exec/netns.js';
import { INTERNET_PREFIXES } from './plan.js';

/**
 * Gives a NAT router's WAN a new public address, as a DHCP lease change or an ISP renumbering does: the old
 * address goes, the new one takes its place (promoted, so the routes on the WAN survive), and the router's
 * connection tracking is flushed, as a real re-addressed CPE loses its NAT state. Hosts behind it keep their
 * LAN addresses and now appear on the internet from `address`.
 */
export async function readdressRouterWan(
  router: { readonly lan: string; readonly shell: NamespaceShell },
  address: string,
): Promise<{ from: string[]; to: string }> {
  const prefix = INTERNET_PREFIXES.find((p) => sameSlash24(p, address));
  if (!prefix || !/^\d+\.\d+\.\d+\.\d+$/.test(address)) {
    throw new LabSpecError(
      `${address} is not on the lab internet (${INTERNET_PREFIXES.join(', ')}): the lab stays sealed`,
      'address',
    );
  }
  const { stdout } = await router.shell.exec(['ip', '-j', '-4', 'addr', 'show', 'dev', 'wan']);
  const from = (JSON.parse(stdout) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>)
    .flatMap((link) => link.addr_info ?? [])
    .map((a) => `${a.local}/${a.prefixlen}`);
  const batch = [
    `addr add ${address}/24 dev wan`,
    ...from.filter((cidr) => cidr !== `${address}/24`).map((cidr) => `addr del ${cidr} dev wan`),
    ...INTERNET_PREFIXES.filter((p) => p !== prefix).map((p) => `route replace ${p} dev wan`),
  ];
  await router.shell.exec(['sysctl', '-q', '-w', 'net.ipv4.conf.wan.promote_secondaries=1']);
  await router.shell.exec(['ip', '-batch', '-'], { input: `${batch.join('\n')}\n` });
  await router.shell.exec(['conntrack', '-F'], { allowFail: true });
  return { from: from.map((cidr) => cidr.slice(0, cidr.indexOf('/'))), to: address };
}

function sameSlash24(prefix: string, address: string): boolean {
  return prefix.split('.').slice(0, 3).join('.') === address.split('.').slice(0, 3).join('.');
}
