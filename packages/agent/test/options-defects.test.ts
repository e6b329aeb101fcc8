import { describe, expect, it } from 'vitest';
import { OptionsError, parseOptions } from '../src/cli/options.js';

describe('flags for the API server protection and the endpoint re-check (issue 11.5, lab)', () => {
  it('--api-server-address / WIREKUBE_API_SERVER_ADDRESS: IPs or IP:ports, comma-separated', () => {
    expect(parseOptions(['--node-name', 'n'], {}).apiServerAddresses).toEqual([]);
    expect(
      parseOptions(['--node-name', 'n', '--api-server-address', '10.0.0.5:6443,[2001:db8::1]:6443'], {})
        .apiServerAddresses,
    ).toEqual(['10.0.0.5', '2001:db8::1']);
    expect(
      parseOptions(['--node-name', 'n'], { WIREKUBE_API_SERVER_ADDRESS: '10.0.0.7' }).apiServerAddresses,
    ).toEqual(['10.0.0.7']);
  });

  it.each<[string[], Record<string, string>, string]>([
    [['--api-server-address', 'api.example.com'], {}, '--api-server-address: "api.example.com" is not an IP'],
    [[], { WIREKUBE_API_SERVER_ADDRESS: '10.0.0.1,x' }, 'WIREKUBE_API_SERVER_ADDRESS: "x" is not an IP'],
    [['--endpoint-recheck-interval-ms', '10'], {}, '--endpoint-recheck-interval-ms must be at least 1000'],
  ])('%j %j is rejected naming the option', (argv, env, message) => {
    const run = () => parseOptions(['--node-name', 'n', ...argv], env);
    expect(run).toThrow(OptionsError);
    expect(run).toThrow(message);
  });

  it('--endpoint-recheck-interval-ms defaults to 5 minutes', () => {
    expect(parseOptions(['--node-name', 'n'], {}).endpointRecheckIntervalMs).toBe(300_000);
    expect(
      parseOptions(['--node-name', 'n'], { WIREKUBE_ENDPOINT_RECHECK_INTERVAL_MS: '2000' })
        .endpointRecheckIntervalMs,
    ).toBe(2000);
  });
});
