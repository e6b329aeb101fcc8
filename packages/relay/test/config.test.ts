import { describe, expect, it } from 'vitest';
import { RelayArgumentError } from '../src/errors.js';
import { parseConfig } from '../src/program/config.js';

describe('parseConfig', () => {
  it('defaults: all addresses, relay port 3478, extensions on, auth optional', () => {
    expect(parseConfig([], {})).toEqual({
      listenAddress: '0.0.0.0',
      port: 3478,
      httpAddress: '0.0.0.0',
      httpPort: 9090,
      requireAuth: false,
      extensions: true,
      maxQueueBytes: 4 * 1024 * 1024,
      sourcePenaltyBurst: 50,
      sourcePenaltyPerSecond: 5,
      logLevel: 'info',
      shutdownGraceSeconds: 10,
    });
  });

  it('reads the environment, and flags win over it', () => {
    const env = { RELAY_PORT: '4000', RELAY_LISTEN_ADDRESS: '10.0.0.1', RELAY_REQUIRE_AUTH: 'true' };
    expect(parseConfig([], env)).toMatchObject({ port: 4000, listenAddress: '10.0.0.1', requireAuth: true });
    expect(parseConfig(['--port', '5000', '--listen-address', '::'], env)).toMatchObject({
      port: 5000,
      listenAddress: '::',
    });
  });

  it('reads the source penalty, 0 turning it off', () => {
    expect(parseConfig(['--source-penalty-burst', '0'], {})).toMatchObject({ sourcePenaltyBurst: 0 });
    expect(
      parseConfig([], { RELAY_SOURCE_PENALTY_BURST: '200', RELAY_SOURCE_PENALTY_PER_SECOND: '20' }),
    ).toMatchObject({ sourcePenaltyBurst: 200, sourcePenaltyPerSecond: 20 });
    expect(() => parseConfig(['--source-penalty-per-second', '0'], {})).toThrow(
      /source-penalty-per-second must be an integer in 1..1000000, got '0'/,
    );
  });

  it('returns null for --help', () => {
    expect(parseConfig(['--help'], {})).toBeNull();
  });

  it('names the flag or variable at fault', () => {
    expect(() => parseConfig(['--port', '70000'], {})).toThrow(
      /port must be an integer in 0..65535, got '70000'/,
    );
    expect(() => parseConfig([], { RELAY_PORT: 'abc' })).toThrow(RelayArgumentError);
    expect(() => parseConfig([], { RELAY_REQUIRE_AUTH: 'maybe' })).toThrow(
      /RELAY_REQUIRE_AUTH must be true or false/,
    );
    expect(() => parseConfig(['--bogus'], {})).toThrow(RelayArgumentError);
    expect(() => parseConfig(['--require-auth', '--no-extensions'], {})).toThrow(/needs the extensions/);
  });
});
