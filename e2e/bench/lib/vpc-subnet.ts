/**
 * A subnet (172.20.0.0/16) behind gateway hosts, as in e2e/test/gateway-vpcb.test.ts: a namespace of its own
 * with a bridge at 172.20.1.254, a TCP listener on :443 (the gateway health target) and a veth into each gateway
 * host. The lab library has no subnet element; this is the benchmark's copy of the test's construction.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { Lab, LabHost } from '../../src/index.js';
import { waitFor } from '../../src/mesh/fixture.js';

const run = promisify(execFile);
export const SUBNET_TARGET = '172.20.1.254';

const LISTENER = `
const net = require('node:net');
net.createServer((s) => { s.on('error', () => {}); s.end('ok\\n'); }).listen(443, '${SUBNET_TARGET}');
setInterval(() => {}, 1 << 30);
`;

export interface VpcSubnet {
  netns: string;
  /** Unplugs (or plugs back) a gateway host's link into the subnet: its health probe fails. */
  setLink(host: LabHost, up: boolean): Promise<void>;
  destroy(): Promise<void>;
}

export async function createVpcSubnet(
  lab: Lab,
  gateways: readonly LabHost[],
  client: LabHost,
): Promise<VpcSubnet> {
  const netns = `${lab.id}-vpcb`;
  const ns = async (argv: string[]) => (await run('ip', ['netns', 'exec', netns, ...argv])).stdout;
  let listener: ChildProcess | undefined;
  const subnet: VpcSubnet = {
    netns,
    async setLink(host, up) {
      await host.exec(['ip', 'link', 'set', 'vpcb', up ? 'up' : 'down']);
    },
    async destroy() {
      if (listener?.pid) {
        listener.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 100));
      }
      await run('ip', ['netns', 'del', netns]).catch(() => undefined);
    },
  };
  try {
    await run('ip', ['netns', 'add', netns]);
    await ns(['ip', 'link', 'set', 'lo', 'up']);
    await ns(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    await ns(['ip', 'addr', 'add', `${SUBNET_TARGET}/16`, 'dev', 'br0']);
    await ns(['ip', 'link', 'set', 'br0', 'up']);
    for (const [i, host] of gateways.entries()) {
      const address = `172.20.1.${i + 1}`;
      // Made inside the subnet namespace with the peer end moved straight into the host: nothing in the root
      // namespace, and deleting the namespaces deletes the pair.
      await ns(['ip', 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'vpcb', 'netns', host.netns]);
      await ns(['ip', 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
      await host.exec(['ip', 'addr', 'add', `${address}/16`, 'dev', 'vpcb']);
      await host.exec(['ip', 'link', 'set', 'vpcb', 'up']);
      // Replies to SNAT'd traffic (the gateway's own address) go back to that gateway.
      await ns(['ip', 'route', 'add', `${host.address}/32`, 'via', address]);
    }
    await ns(['ip', 'route', 'add', `${client.address}/32`, 'via', '172.20.1.1']);
    listener = spawn('ip', ['netns', 'exec', netns, 'node', '-e', LISTENER], { stdio: 'ignore' });
    await waitFor(
      async () => (await ns(['ss', '-ltn'])).includes(`${SUBNET_TARGET}:443`),
      10_000,
      'the subnet listener',
    );
    return subnet;
  } catch (error) {
    await subnet.destroy();
    throw error;
  }
}
