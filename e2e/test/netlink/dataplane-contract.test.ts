// Issue 9, item 4: the Dataplane contract suite that the fake passes in unit tests, here on the real netlink
// dataplane (rtnetlink, real wireguard-go over its UAPI socket, sysctls, iptables) inside a lab host namespace.
import { publicKeyFromPrivate } from '@wirekube/netlink';
import { afterAll, beforeAll } from 'vitest';
import { dataplaneContract } from '../../../packages/agent/test/dataplane-contract.js';
import { createLab, type Lab } from '../../src/index.js';
import { RemoteDataplane } from './remote-dataplane.js';

let lab: Lab;

beforeAll(async () => {
  lab = await createLab({ hosts: [{ name: 'node1', nat: 'none' }] });
});

afterAll(async () => {
  await lab?.destroy();
});

dataplaneContract('NetlinkDataplane with wireguard-go in a lab namespace', async () => {
  const host = lab.host('node1');
  const dataplane = await RemoteDataplane.start(host);
  return {
    dataplane,
    publicKeyOf: publicKeyFromPrivate,
    localAddress: host.address,
    async addChain(table, chain) {
      const exists = await host.exec(['iptables', '-t', table, '-S', chain], { allowFail: true });
      if (exists.code !== 0) await host.exec(['iptables', '-t', table, '-N', chain]);
    },
    close: () => dataplane.close(),
  };
});
