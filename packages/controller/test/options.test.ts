import { describe, expect, it } from 'vitest';
import { OptionsError, parseOptions } from '../src/cli/options.js';

describe('parseOptions', () => {
  it('defaults', () => {
    expect(parseOptions([], { POD_NAME: 'ctl-0' })).toEqual({
      kind: 'run',
      options: {
        namespace: 'wirekube-system',
        leaseName: 'wirekube-controller',
        identity: 'ctl-0',
        meshName: 'default',
        metricsAddress: '0.0.0.0',
        metricsPort: 9544,
        logLevel: 'info',
      },
    });
  });
  it('flags win over the environment', () => {
    const parsed = parseOptions(
      [
        '--namespace',
        'ns',
        '--lease-name',
        'l',
        '--identity',
        'me',
        '--metrics-port',
        '0',
        '--kubeconfig',
        '/k',
      ],
      { POD_NAMESPACE: 'other', KUBECONFIG: '/x' },
    );
    expect(parsed).toMatchObject({
      kind: 'run',
      options: { namespace: 'ns', leaseName: 'l', identity: 'me', metricsPort: 0, kubeconfig: '/k' },
    });
  });
  it('--help', () => {
    expect(parseOptions(['--help'], {})).toEqual({ kind: 'help' });
  });
  it.each([
    [['--metrics-port', 'x'], /--metrics-port/],
    [['--log-level', 'loud'], /--log-level/],
    [['--namespace', 'Bad_NS'], /--namespace/],
    [['--bogus'], /bogus/],
  ])('rejects %j naming the field', (argv, message) => {
    expect(() => parseOptions(argv, {})).toThrow(OptionsError);
    expect(() => parseOptions(argv, {})).toThrow(message);
  });
});
