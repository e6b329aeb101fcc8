// Issue 13: the chart lints strictly, renders with the default values and four other value sets, and every
// rendering is accepted by the lab's real kube-apiserver (`kubectl apply --dry-run=server`, which runs defaulting,
// schema validation and admission). Then the chart's ValidatingAdmissionPolicy is installed for real and the
// agent's node-bound token may write only its own WireKubePeer.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/exec/run.js';
import { createLab, type Lab } from '../src/index.js';
import { toolPath } from '../src/tools.js';

const chart = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'charts', 'wirekube');
const home = mkdtempSync(join(tmpdir(), 'wirekube-helm-'));
const helmEnv = { ...process.env, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home };
const namespace = 'wirekube-system';
const release = 'wirekube';
// The chart's ci/ value sets (helm chart-testing's convention) plus the defaults.
const valueSets = ['default', ...readdirSync(join(chart, 'ci')).filter((f) => f.endsWith('-values.yaml'))];

async function helm(args: string[]): Promise<string> {
  return (await run([toolPath('helm'), ...args], { env: helmEnv })).stdout;
}

async function render(valueSet: string): Promise<string> {
  const values = valueSet === 'default' ? [] : ['-f', join(chart, 'ci', valueSet)];
  return helm(['template', release, chart, '--namespace', namespace, ...values]);
}

describe('the chart against the real API server', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({ hosts: [{ name: 'pub', nat: 'none' }], controlPlane: true });
    await lab.controlPlane!.kubectl(['create', 'namespace', namespace]);
  });

  afterAll(async () => {
    await lab?.destroy();
    rmSync(home, { recursive: true, force: true });
  });

  it('has the three other value sets the issue asks for, the Node relay-link and the Node relay', () => {
    expect(valueSets).toEqual([
      'default',
      'external-relay-values.yaml',
      'mode-always-values.yaml',
      'relay-disabled-values.yaml',
      'relay-link-node-values.yaml',
      'relay-node-values.yaml',
    ]);
  });

  it.each(valueSets)('helm lint --strict is clean with %s values', async (valueSet) => {
    const values = valueSet === 'default' ? [] : ['-f', join(chart, 'ci', valueSet)];
    const out = await helm(['lint', '--strict', chart, ...values]);
    expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it.each(valueSets)('helm template with %s values applies with --dry-run=server', async (valueSet) => {
    const manifest = await render(valueSet);
    const { stdout, stderr, code } = await lab.controlPlane!.kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      { input: manifest, allowFail: true },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const applied = stdout.trim().split('\n');
    const documents = manifest.split(/^---$/m).filter((d) => /^kind:/m.test(d));
    expect(applied).toHaveLength(documents.length);
    for (const line of applied) expect(line).toMatch(/(created|configured|unchanged) \(server dry run\)$/);
  });

  it("the seed's cleanup Job uses the chart's agent image, pinned to its node, and applies", async () => {
    const job = readFileSync(join(chart, '..', '..', 'config', 'cleanup', 'cleanup-job.yaml'), 'utf8');
    const agentImage = /image: (\S+)/.exec(
      (await render('default')).split(/^---$/m).find((d) => /^kind: DaemonSet/m.test(d)) ?? '',
    )?.[1];
    expect(/image: (\S+)/.exec(job)?.[1]).toBe(agentImage);
    const forNode = job.replaceAll('TARGET_NODE_NAME', 'worker-1');
    expect(forNode).toMatch(/^\s+nodeName: worker-1$/m);
    expect(forNode).toContain('name: wirekube-cleanup-worker-1');
    const { stdout } = await lab.controlPlane!.kubectl(['apply', '--dry-run=server', '-f', '-'], {
      input: forNode,
    });
    expect(stdout.trim()).toBe('job.batch/wirekube-cleanup-worker-1 created (server dry run)');
  });

  describe('node-scoped writes (ValidatingAdmissionPolicy)', () => {
    const peer = (node: string) =>
      JSON.stringify({
        apiVersion: 'wirekube.io/v1alpha1',
        kind: 'WireKubePeer',
        metadata: { name: `node-${node}`, labels: { 'wirekube.io/node': node } },
        spec: { publicKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', allowedIPs: ['10.0.0.1/32'] },
      });
    let asAgentOnA: (args: string[], input?: string) => ReturnType<typeof run>;
    // A status merge patch as the agent sends it (kubectl would GET the status first, which the agent never does).
    let patchStatusAsAgentOnA: (name: string, status: Record<string, unknown>) => Promise<string>;

    beforeAll(async () => {
      const cp = lab.controlPlane!;
      await cp.kubectl(['apply', '-f', '-'], { input: await render('default') });
      await cp.createNode('a', { internalIP: '192.0.2.1' });
      await cp.createNode('b', { internalIP: '192.0.2.2' });
      const { token } = await cp.serviceAccountKubeconfig({ namespace, name: 'wirekube-agent', node: 'a' });
      asAgentOnA = (args, input) =>
        run(
          [
            toolPath('kubectl'),
            `--server=${cp.server}`,
            `--certificate-authority=${cp.caCertPath}`,
            `--token=${token}`,
            ...args,
          ],
          { allowFail: true, input: input ?? '' },
        );
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'lab', server: cp.server, caFile: cp.caCertPath }],
        users: [{ name: 'agent-a', token }],
        contexts: [{ name: 'lab', cluster: 'lab', user: 'agent-a' }],
        currentContext: 'lab',
      });
      const custom = kc.makeApiClient(CustomObjectsApi);
      patchStatusAsAgentOnA = async (name, status) => {
        try {
          await custom.patchClusterCustomObjectStatus(
            { group: 'wirekube.io', version: 'v1alpha1', plural: 'wirekubepeers', name, body: { status } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
          return 'patched';
        } catch (error) {
          return String((error as { body?: unknown }).body ?? error);
        }
      };
      // A policy starts to act once the API server has compiled it; poll until node-b is refused by it.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const probe = await asAgentOnA(['create', '--dry-run=server', '-f', '-'], peer('b'));
        if (probe.stderr.includes('ValidatingAdmissionPolicy')) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    });

    it("lets node a's bound token create node-a and patch its status", async () => {
      const created = await asAgentOnA(['create', '-f', '-'], peer('a'));
      expect(created.stderr).toBe('');
      expect(created.stdout).toContain('wirekubepeer.wirekube.io/node-a created');
      expect(await patchStatusAsAgentOnA('node-a', { connected: true, natType: 'cone' })).toBe('patched');
    });

    it("denies node a's token node-b, with a message saying why", async () => {
      const denied = await asAgentOnA(['create', '-f', '-'], peer('b'));
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toContain('may write only WireKubePeer node-a, not node-b');
      await lab.controlPlane!.kubectl(['create', '-f', '-'], { input: peer('b') });
      expect(await patchStatusAsAgentOnA('node-b', { connected: false })).toContain(
        'may write only WireKubePeer node-a, not node-b',
      );
      const spec = await asAgentOnA([
        'patch',
        'wirekubepeer',
        'node-b',
        '--type=merge',
        '-p',
        '{"spec":{"persistentKeepalive":10}}',
      ]);
      expect(spec.code).not.toBe(0);
      expect(spec.stderr).toContain('may write only WireKubePeer node-a, not node-b');
    });

    it('denies a token without a node claim', async () => {
      const cp = lab.controlPlane!;
      const { token } = await cp.serviceAccountKubeconfig({ namespace, name: 'wirekube-agent' });
      const denied = await run(
        [
          toolPath('kubectl'),
          `--server=${cp.server}`,
          `--certificate-authority=${cp.caCertPath}`,
          `--token=${token}`,
          'patch',
          'wirekubepeer',
          'node-a',
          '--type=merge',
          '-p',
          '{"spec":{"persistentKeepalive":10}}',
        ],
        { allowFail: true },
      );
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toContain('only with a node-bound token');
    });
  });
});
