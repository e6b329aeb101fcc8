import { dataplaneContract } from './dataplane-contract.js';
import { FakeDataplane, publicOf } from './fakes.js';

dataplaneContract('the in-memory fake', async () => {
  const dataplane = new FakeDataplane();
  return {
    dataplane,
    publicKeyOf: publicOf,
    localAddress: '10.1.0.2',
    async addChain(table, chain) {
      dataplane.chains.add(`${table}/${chain}`);
    },
    async close() {},
  };
});
