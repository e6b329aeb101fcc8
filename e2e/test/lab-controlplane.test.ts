import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, KINDS, type KindName, VERSION } from '@wirekube/crd-types';
import { seedExample, VIOLATIONS } from '@wirekube/crd-types/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../src/index.js';

/** The API server's message for a rejected request (client-node puts the Status JSON in `body`). */
function rejection(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return error instanceof Error ? error.message : String(error);
}

describe('lab control plane: a real kube-apiserver with the WireKube CRDs', () => {
  let lab: Lab;
  let api: CustomObjectsApi;
  const plural = (kind: KindName) => KINDS[kind].plural;

  beforeAll(async () => {
    lab = await createLab({
      hosts: [
        { name: 'pub', nat: 'none' },
        { name: 'cone', nat: 'cone' },
      ],
      controlPlane: true,
    });
    api = lab.controlPlane!.kubeConfig().makeApiClient(CustomObjectsApi);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  async function create(kind: KindName, object: Record<string, unknown>) {
    return api.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: plural(kind),
      body: object,
    });
  }

  async function remove(kind: KindName, name: string) {
    await api.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: plural(kind), name });
  }

  it('accepts every seed example', async () => {
    for (const kind of Object.keys(KINDS) as KindName[]) {
      const created = (await create(kind, seedExample(kind))) as { metadata: { name: string } };
      expect(created.metadata.name).toBe((seedExample(kind).metadata as { name: string }).name);
    }
  });

  it('rejects every violation with a message naming the field', async () => {
    const failures: string[] = [];
    for (const violation of VIOLATIONS) {
      const object = structuredClone(violation.object);
      const name = `violation-${VIOLATIONS.indexOf(violation)}`;
      (object.metadata as { name: string }).name = name;
      let message: string | undefined;
      if (violation.subresource === 'status') {
        // Status is written through its subresource, as the agent and controller do: create, then patch status.
        const { status, ...rest } = object;
        await create(violation.kind, rest);
        try {
          await api.patchClusterCustomObjectStatus(
            { group: GROUP, version: VERSION, plural: plural(violation.kind), name, body: { status } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
        } catch (error) {
          message = rejection(error);
        }
        await remove(violation.kind, name);
      } else {
        try {
          await create(violation.kind, object);
          await remove(violation.kind, name);
        } catch (error) {
          message = rejection(error);
        }
      }
      if (message === undefined) failures.push(`${violation.name}: accepted`);
      else if (!message.includes(violation.field))
        failures.push(`${violation.name}: "${message}" lacks ${violation.field}`);
    }
    expect(failures).toEqual([]);
  });

  it('kubectl get wirekubepeers prints the NAT and MODE columns', async () => {
    const cp = lab.controlPlane!;
    const peer = seedExample('WireKubePeer');
    (peer.metadata as { name: string }).name = 'node-columns';
    await create('WireKubePeer', peer);
    await cp.kubectl(
      ['patch', 'wirekubepeer', 'node-columns', '--subresource=status', '--type=merge', '-p'].concat(
        JSON.stringify({ status: { natType: 'symmetric', transportMode: 'relay' } }),
      ),
    );
    const { stdout } = await cp.kubectl(['get', 'wirekubepeers', 'node-columns']);
    const [header, row] = stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(expect.arrayContaining(['NAT', 'MODE']));
    const columns = header?.split(/\s+/) ?? [];
    const values = row?.split(/\s+/) ?? [];
    expect(values[columns.indexOf('NAT')]).toBe('symmetric');
    expect(values[columns.indexOf('MODE')]).toBe('relay');
  });

  it('serves lab hosts on its lab-internet address, with admin and node-bound service-account credentials', async () => {
    const cp = lab.controlPlane!;
    const host = lab.host('cone');
    const node = await cp.createNode('cone', { internalIP: host.address });
    expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: host.address });
    const nodes = await host.exec([
      'kubectl',
      `--kubeconfig=${cp.hostKubeconfigPath}`,
      'get',
      'nodes',
      '-o',
      'name',
    ]);
    expect(nodes.stdout.trim()).toBe('node/cone');
    const sa = await cp.serviceAccountKubeconfig({
      namespace: 'wirekube-system',
      name: 'agent',
      node: 'cone',
    });
    const whoami = await host.exec(['kubectl', `--kubeconfig=${sa.path}`, 'auth', 'whoami', '-o', 'json']);
    const user = JSON.parse(whoami.stdout) as { status: { userInfo: { username: string; extra?: object } } };
    expect(user.status.userInfo.username).toBe('system:serviceaccount:wirekube-system:agent');
    expect(user.status.userInfo.extra).toMatchObject({ 'authentication.kubernetes.io/node-name': ['cone'] });
    // RBAC is on: the service account may do nothing it was not granted.
    const denied = await host.exec(['kubectl', `--kubeconfig=${sa.path}`, 'get', 'wirekubepeers'], {
      allowFail: true,
    });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/forbidden/i);
  });
});
