// The LeaseStore contract suite (packages/kube-runtime/test/leader) against the real kube-apiserver, so the
// in-memory fake the elector's unit tests use cannot drift from the API server's behaviour (409s, MicroTime).

import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { KubeLeaseStore } from '@wirekube/kube-runtime';
import { afterAll, beforeAll, describe } from 'vitest';
import { leaseStoreContract } from '../../packages/kube-runtime/test/leader/lease-store-contract.js';
import { createLab, type Lab } from '../src/index.js';

let lab: Lab;
let api: CoordinationV1Api;
const NS = 'wk-leader-contract';

beforeAll(async () => {
  lab = await createLab({ hosts: [], controlPlane: true });
  const kc = lab.controlPlane!.kubeConfig();
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  api = kc.makeApiClient(CoordinationV1Api);
}, 180_000);

afterAll(async () => {
  await lab?.destroy();
});

describe('KubeLeaseStore passes the LeaseStore contract on the real API server', () => {
  leaseStoreContract(async (name) => [new KubeLeaseStore(api, NS, name), new KubeLeaseStore(api, NS, name)]);
});
