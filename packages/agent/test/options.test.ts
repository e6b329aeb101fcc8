import { describe, expect, it } from 'vitest';
import { OptionsError, parseOptions } from '../src/cli/options.js';

describe('parseOptions', () => {
  it('reads flags, falls back to environment, then to defaults', () => {
    expect(parseOptions(['--node-name', 'n1'], {})).toMatchObject({
      command: 'run',
      nodeName: 'n1',
      keyDir: '/var/lib/wirekube',
      meshName: 'default',
      metricsPort: 9543,
      backend: 'auto',
      endpointMethods: ['annotation', 'ipv6', 'stun', 'aws-imds', 'upnp', 'internal'],
      initAllowedIPs: true,
    });
    expect(
      parseOptions([], { NODE_NAME: 'n2', KUBECONFIG: '/k', WIREKUBE_BACKEND: 'userspace' }),
    ).toMatchObject({
      nodeName: 'n2',
      kubeconfig: '/k',
      backend: 'userspace',
    });
    expect(parseOptions(['cleanup'], {})).toMatchObject({ command: 'cleanup', nodeName: '' });
  });

  it.each<[string[], string]>([
    [[], '--node-name (or NODE_NAME) is required'],
    [['--node-name', 'n', '--backend', 'ebpf'], '--backend must be auto, kernel or userspace, got "ebpf"'],
    [['--node-name', 'n', '--endpoint-methods', 'stun,guess'], 'unknown method "guess"'],
    [['--node-name', 'n', '--metrics-port', '70000'], '--metrics-port must be 0..65535'],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('%j is rejected with a message naming the option', (argv, message) => {
    expect(() => parseOptions(argv, {})).toThrow(OptionsError);
    expect(() => parseOptions(argv, {})).toThrow(message);
  });
});
