import type { ExecOptions, NamespaceSpawnOptions } from './exec/netns.js';
import { type NamespaceShell, uapiSocket, waitForPath } from './exec/netns.js';
import type { LabProcess } from './exec/process.js';
import type { CommandResult } from './exec/run.js';
import type { HostPlan } from './topology/plan.js';
import type { NatKind } from './topology/spec.js';

export interface WireguardGoOptions {
  /** Extra environment, e.g. LOG_LEVEL=debug. */
  env?: Record<string, string>;
  /** How long to wait for the UAPI socket; default 10 s. */
  timeoutMs?: number;
}

/** One lab host: a network namespace with its addresses and a way to run things in it. */
export interface LabHost {
  readonly name: string;
  readonly netns: string;
  readonly nat: NatKind;
  /** The LAN it sits in, behind NAT. */
  readonly lan?: string;
  /** Its own address: the LAN address behind NAT, the internet address when public. */
  readonly address: string;
  /** How the lab internet sees it (the router's WAN address behind NAT). */
  readonly publicAddress: string;
  /** The NAT router's LAN address, behind NAT. */
  readonly gateway?: string;
  /** The private directory mounted over /run/wireguard for everything run in this host, as a root path. */
  readonly wireguardDir: string;
  /** The argv that runs `argv` inside this host (for tools that spawn by themselves). */
  wrap(argv: readonly string[]): string[];
  exec(argv: readonly string[], options?: ExecOptions): Promise<CommandResult>;
  spawn(argv: readonly string[], options?: NamespaceSpawnOptions): LabProcess;
  /** Starts `wireguard-go -f <iface>` here; resolves once its UAPI socket exists. */
  wireguardGo(iface: string, options?: WireguardGoOptions): Promise<LabProcess>;
}

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function createHost(plan: HostPlan, shell: NamespaceShell, wireguardDir: string): LabHost {
  return {
    name: plan.name,
    netns: plan.netns,
    nat: plan.nat,
    ...(plan.lan ? { lan: plan.lan } : {}),
    address: plan.address,
    publicAddress: plan.publicAddress,
    ...(plan.gateway ? { gateway: plan.gateway } : {}),
    wireguardDir,
    wrap: (argv) => shell.wrap(argv),
    exec: (argv, options) => shell.exec(argv, options),
    spawn: (argv, options) => shell.spawn(argv, options),
    async wireguardGo(iface, options = {}) {
      if (!IFNAME.test(iface))
        throw new TypeError(`wireguardGo: bad interface name ${JSON.stringify(iface)}`);
      // -f keeps it in the foreground, so the PID we track is the daemon's and the TUN dies with it.
      const process = shell.spawn(['wireguard-go', '-f', iface], { env: { ...options.env } });
      await waitForPath(
        uapiSocket(wireguardDir, iface),
        process,
        options.timeoutMs ?? 10_000,
        `wireguard-go ${iface} in ${plan.netns}`,
      );
      return process;
    },
  };
}
