// The pure half of `kubernetes: true`: option checking and what containerd and the kubelet are told (no root).

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { LabSpecError } from '../src/errors.js';
import {
  cniConflist,
  containerdConfig,
  kubeletConfig,
  nodePaths,
  podCidr,
  registryHostsToml,
} from '../src/kubernetes/config.js';
import { LOAD_BALANCER_ADDRESS, loadBalancerRuleset, planTargets } from '../src/kubernetes/load-balancer.js';
import { checkOptions, resolveControlPlane, resolveHosts } from '../src/topology/spec.js';

describe('kubernetes lab options', () => {
  it('keeps the bare control plane the default and turns controllers on for kubernetes', () => {
    expect(resolveControlPlane({})).toBeUndefined();
    expect(resolveControlPlane({ controlPlane: true })).toEqual({ controllers: false });
    expect(resolveControlPlane({ controlPlane: { controllers: true } })).toEqual({ controllers: true });
    expect(resolveControlPlane({ kubernetes: true })).toEqual({ controllers: true });
  });

  it.each([
    [{ controlPlane: { controller: true } }, 'controlPlane.controller'],
    [{ kubernetes: 'yes' }, 'kubernetes'],
    [{ registry: 1 }, 'registry'],
  ])('rejects %j naming %s', (options, field) => {
    expect(() => checkOptions(options)).toThrow(LabSpecError);
    expect(() => checkOptions(options)).toThrow(field);
  });

  it.each([
    [{ name: 'a', nat: 'none', labels: { 'bad key!': 'x' } }, 'hosts[0].labels'],
    [{ name: 'a', nat: 'none', labels: { ok: 'bad value!' } }, 'hosts[0].labels.ok'],
    [{ name: 'a', nat: 'none', taints: [{ key: 'k', effect: 'Never' }] }, 'hosts[0].taints[0].effect'],
    [{ name: 'a', nat: 'none', label: {} }, 'hosts[0].label'],
  ])('rejects host %j naming %s', (host, field) => {
    expect(() => resolveHosts([host as never])).toThrow(field);
  });

  it('carries labels and taints through', () => {
    const [host] = resolveHosts([
      {
        name: 'a',
        nat: 'cone',
        labels: { 'wirekube.io/vpn-enabled': 'true' },
        taints: [{ key: 'k', effect: 'NoSchedule' }],
      },
    ]);
    expect(host).toMatchObject({
      labels: { 'wirekube.io/vpn-enabled': 'true' },
      taints: [{ key: 'k', effect: 'NoSchedule' }],
    });
  });
});

describe('node configuration', () => {
  const paths = nodePaths('/run/wirekube-lab/wk0001/nodes/a', '/run/wirekube-lab/wk0001/hosts/a/wireguard');

  it('binds the per-node directories over the shared paths', () => {
    expect(paths.binds.map((bind) => bind.target)).toEqual([
      '/var/lib/wirekube',
      '/run/wireguard',
      '/run/wirekube',
      '/var/lib/kubelet',
      '/var/log/containers',
    ]);
    expect(paths.binds.find((bind) => bind.target === '/run/wireguard')?.source).toBe(
      '/run/wirekube-lab/wk0001/hosts/a/wireguard',
    );
  });

  it('tells containerd what these machines need', () => {
    const toml = containerdConfig(paths, '198.51.100.20:5000/lab/pause:v1');
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain('SystemdCgroup = false');
    expect(toml).toContain('sandbox_image = "198.51.100.20:5000/lab/pause:v1"');
    expect(toml).toContain(`address = "${paths.containerdSocket}"`);
    expect(registryHostsToml('198.51.100.20:5000')).toContain('[host."http://198.51.100.20:5000"]');
  });

  it('tells the kubelet what these machines need', () => {
    const config = parse(
      kubeletConfig({
        paths,
        address: '10.100.0.10',
        caCert: '/ca.crt',
        cgroupRoot: '/wklab-wk0001-a',
        taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }],
      }),
    ) as Record<string, unknown>;
    expect(config).toMatchObject({
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: '/wklab-wk0001-a',
      podLogsDir: paths.podLogsDir,
      volumePluginDir: paths.volumePluginDir,
      containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
      registerWithTaints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }],
    });
  });
});

describe('pod network and the lab load balancer (pure)', () => {
  it('gives every node its own pod subnet, allocations kept per node, a default route in pods', () => {
    expect([0, 1, 3].map(podCidr)).toEqual(['10.244.1.0/24', '10.244.2.0/24', '10.244.4.0/24']);
    expect(() => podCidr(-1)).toThrow(RangeError);
    const conflist = JSON.parse(cniConflist('10.244.2.0/24', '/run/x/nodes/b/cni/ipam')) as {
      plugins: { type: string; isDefaultGateway?: boolean; ipMasq?: boolean; ipam?: unknown }[];
    };
    const bridge = conflist.plugins.find((p) => p.type === 'bridge')!;
    expect(bridge).toMatchObject({ isDefaultGateway: true, ipMasq: true });
    expect(bridge.ipam).toEqual({
      type: 'host-local',
      ranges: [[{ subnet: '10.244.2.0/24' }]],
      dataDir: '/run/x/nodes/b/cni/ipam',
    });
    // Pod network namespaces under the node's state directory: teardown removes them with the run.
    expect(containerdConfig(nodePaths('/r/n', '/r/wg'), 'pause')).toContain(
      'netns_mounts_under_state_dir = true',
    );
  });

  it('forwards a Service port to its ready endpoints only, TCP only', () => {
    const service = {
      spec: {
        ports: [
          { name: 'relay', port: 3478, targetPort: 'relay', protocol: 'TCP' },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
      },
    };
    const slices = [
      {
        ports: [{ name: 'relay', port: 3478 }],
        endpoints: [
          { addresses: ['10.244.1.2'], nodeName: 'pub', conditions: { ready: true } },
          { addresses: ['10.244.1.9'], nodeName: 'pub', conditions: { ready: false } },
        ],
      },
    ];
    const targets = planTargets(service, slices);
    expect(targets).toEqual([{ port: 3478, podIP: '10.244.1.2', targetPort: 3478, node: 'pub' }]);
    const ruleset = loadBalancerRuleset(LOAD_BALANCER_ADDRESS, targets);
    expect(ruleset).toContain('ip daddr 198.51.100.30 tcp dport 3478 dnat to 10.244.1.2:3478');
    expect(ruleset).toContain('ct status dnat masquerade');
  });
});
