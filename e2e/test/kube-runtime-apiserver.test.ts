// @wirekube/kube-runtime against the real kube-apiserver: the merge patches the agent writes its status with
// (issue 11.6), event recording, and the resilient informer over client-node's real watch.
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { KubeAgentApi } from '@wirekube/agent';
import { GROUP, KINDS, VERSION, type WireKubePeer, type WireKubePeerStatus } from '@wirekube/crd-types';
import { EventRecorder, mergePatchFor, ResilientInformer } from '@wirekube/kube-runtime';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../src/index.js';

const KEY = '2JMviHj9+LoepjceHgNvo0IPfrQLJvGU40tTd3M5uEc=';
const log = pino({ level: 'silent' });

function peerObject(name: string): WireKubePeer {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'WireKubePeer',
    metadata: { name, labels: { 'wirekube.io/node': name.replace(/^node-/, '') } },
    spec: { publicKey: KEY },
  };
}

async function until<T>(read: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kube-runtime against a real kube-apiserver', () => {
  let lab: Lab;
  let kube: KubeAgentApi;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;

  beforeAll(async () => {
    lab = await createLab({ hosts: [{ name: 'pub', nat: 'none' }], controlPlane: true });
    const kc = lab.controlPlane!.kubeConfig();
    kube = new KubeAgentApi(kc, { name: 'wirekube-agent', host: 'lab' }, log);
    custom = kc.makeApiClient(CustomObjectsApi);
    core = kc.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  async function statusOf(name: string): Promise<WireKubePeerStatus | undefined> {
    return (await kube.getPeer(name))?.status;
  }

  it('issue 11.6: a status merge patch from mergePatchFor removes deleted peerTransports keys and cleared fields', async () => {
    const name = 'node-status';
    await kube.createPeer(peerObject(name));
    const first: WireKubePeerStatus = {
      connected: true,
      natType: 'cone',
      peerTransports: { 'node-a': 'direct', 'node-b': 'relay' },
      transportMode: 'mixed',
    };
    await kube.patchPeerStatus(name, mergePatchFor(undefined, first)!);
    expect(await statusOf(name)).toEqual(first);

    // The defect: a patch naming only the current keys leaves node-b behind on the server.
    const second: WireKubePeerStatus = {
      connected: true,
      natType: 'cone',
      peerTransports: { 'node-a': 'direct' },
    };
    await kube.patchPeerStatus(name, second);
    expect((await statusOf(name))?.peerTransports).toEqual({ 'node-a': 'direct', 'node-b': 'relay' });

    // The fix: diff against what the server has; removed keys go as null.
    const patch = mergePatchFor(await statusOf(name), second)!;
    expect(patch).toEqual({ peerTransports: { 'node-b': null }, transportMode: null });
    await kube.patchPeerStatus(name, patch);
    expect(await statusOf(name)).toEqual(second);
    expect(mergePatchFor(await statusOf(name), second)).toBeUndefined();
  });

  it('records an Event about a cluster-scoped WireKubePeer that kubectl describe finds in "default"', async () => {
    const created = await kube.createPeer(peerObject('node-events'));
    const events = new EventRecorder({ core, component: 'wirekube-agent', host: 'lab', log });
    await events.record(created, 'Warning', 'PeerSkipped', 'skipped by lab: test');
    const list = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=node-events',
    });
    expect(list.items.map((e) => [e.type, e.reason, e.message, e.involvedObject.uid])).toEqual([
      ['Warning', 'PeerSkipped', 'skipped by lab: test', created.metadata.uid],
    ]);
  });

  it('EventRecorder never throws, even when the API server refuses the Event', async () => {
    const events = new EventRecorder({ core, component: 'wirekube-agent', log });
    const bad = { kind: 'WireKubePeer', metadata: { name: 'x', namespace: 'no-such-namespace-here' } };
    await expect(events.record(bad, 'Normal', 'Test', 'refused')).resolves.toBeUndefined();
  });

  it('ResilientInformer over the real watch sees adds, updates and deletes', async () => {
    const seen: string[] = [];
    const informer = new ResilientInformer<WireKubePeer>({
      name: 'wirekubepeers',
      informer: kube.peerInformer(),
      log,
      onChange: (verb, peer) => seen.push(`${verb} ${peer.metadata.name}`),
    });
    try {
      await informer.start();
      expect(informer.isSynced()).toBe(true);
      await kube.createPeer(peerObject('node-watched'));
      await until(() => informer.get('node-watched'), 'the add');
      await kube.patchPeer('node-watched', { spec: { endpoint: '203.0.113.9:51820' } });
      await until(() => (informer.get('node-watched')?.spec.endpoint ? true : undefined), 'the update');
      await custom.deleteClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: KINDS.WireKubePeer.plural,
        name: 'node-watched',
      });
      await until(() => (informer.get('node-watched') ? undefined : true), 'the delete');
      expect(seen.filter((s) => s.endsWith('node-watched'))).toEqual([
        'add node-watched',
        'update node-watched',
        'delete node-watched',
      ]);
    } finally {
      await informer.stop();
    }
  });
});
