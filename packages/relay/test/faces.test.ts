// What each entry point of the package offers: the agent side from '.', the server program from './server',
// codecs and machines from './internals', bad input for benches and chaos tests from './testing'
// (package.json "exports").
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as agentFace from '../src/index.js';
import * as internals from '../src/internals.js';
import * as serverFace from '../src/server/index.js';
import * as testingFace from '../src/testing/garbage.js';

describe('package faces', () => {
  it('"." is the agent side only', () => {
    for (const name of [
      'RelayClient',
      'RelayPool',
      'UdpProxy',
      'generateRawKeyPair',
      'realTimers',
      'backoffDelay',
    ])
      expect(agentFace).toHaveProperty(name);
    for (const name of ['RelayServer', 'runRelay', 'parseConfig', 'createRelayMetrics', 'encodeRegister'])
      expect(agentFace).not.toHaveProperty(name);
  });

  it('"./server" is the relay server and its program', () => {
    expect(Object.keys(serverFace).sort()).toEqual(
      ['DROP_REASONS', 'RelayServer', 'USAGE', 'createRelayMetrics', 'parseConfig', 'runRelay'].sort(),
    );
  });

  it('"./internals" has the codecs and both handshake machines', () => {
    for (const name of [
      'FrameDecoder',
      'encodeRegister',
      'encodeControl',
      'computeProof',
      'nextSession',
      'nextClient',
    ])
      expect(internals).toHaveProperty(name);
  });

  it('"./testing" is the garbage mix only', () => {
    expect(Object.keys(testingFace).sort()).toEqual(['KINDS', 'TRICKLE_MS', 'attemptMs', 'payload'].sort());
  });

  it('package.json maps the four subpaths to the built files', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(Object.keys(pkg.exports)).toEqual(['.', './server', './internals', './testing']);
    expect(pkg.exports['./server'].import).toBe('./dist/server/index.js');
    expect(pkg.exports['./testing'].import).toBe('./dist/testing/garbage.js');
  });
});
