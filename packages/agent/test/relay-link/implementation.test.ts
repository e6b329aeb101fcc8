// Which relay-link spawn mode starts (issue #10 follow-up: the Go relay-link is the default, the Node one the
// fallback): the pure choice from a table, then the spawner's one `relay-link-implementation` line with a real
// file standing in for the shipped binary.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  chooseRelayLink,
  type RelayLinkChoice,
  type RelayLinkChoiceInput,
  SHIPPED_RELAY_LINK,
} from '../../src/relay-link/implementation.js';
import { relayLinkSpawner, SHIPPED_RELAY_LINK_PATH } from '../../src/relay-link/spawn.js';

const NODE = ['/usr/bin/node', '/app/packages/agent/dist/main.js'] as const;
const SHIPPED = '/app/packages/agent/native/bin/wirekube-relay-link';

describe('chooseRelayLink', () => {
  it.each<[string, RelayLinkChoiceInput['binary'], boolean, RelayLinkChoice]>([
    [
      'unset, shipped binary there → Go',
      undefined,
      true,
      { implementation: 'go', reason: 'shipped-binary', command: [SHIPPED] },
    ],
    [
      'unset, no shipped binary → Node',
      undefined,
      false,
      { implementation: 'node', reason: 'no-shipped-binary', command: NODE },
    ],
    [
      'empty counts as unset',
      '',
      true,
      { implementation: 'go', reason: 'shipped-binary', command: [SHIPPED] },
    ],
    [
      'blank counts as unset',
      '  ',
      false,
      { implementation: 'node', reason: 'no-shipped-binary', command: NODE },
    ],
    [
      'a path → that program, even with a shipped binary',
      '/opt/wkrl-race',
      true,
      { implementation: 'go', reason: 'env-binary', command: ['/opt/wkrl-race'] },
    ],
    [
      'a path → that program, even without a shipped binary (spawn reports it if it is missing)',
      '/does/not/exist',
      false,
      { implementation: 'go', reason: 'env-binary', command: ['/does/not/exist'] },
    ],
    [
      'node → the Node relay-link although the Go one is there (escape hatch, benches)',
      'node',
      true,
      { implementation: 'node', reason: 'env-node', command: NODE },
    ],
    [
      'node without a shipped binary',
      'node',
      false,
      { implementation: 'node', reason: 'env-node', command: NODE },
    ],
  ])('%s', (_name, binary, executable, expected) => {
    expect(chooseRelayLink({ binary, shipped: { path: SHIPPED, executable }, node: NODE })).toEqual(expected);
  });

  it('looks for the shipped binary in native/bin of the agent package (where build-native puts it)', () => {
    expect(SHIPPED_RELAY_LINK).toBe('native/bin/wirekube-relay-link');
    expect(SHIPPED_RELAY_LINK_PATH.endsWith('/packages/agent/native/bin/wirekube-relay-link')).toBe(true);
  });
});

describe('relayLinkSpawner: relay-link-implementation, once', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function logged(options: { env: NodeJS.ProcessEnv; shipped: 'executable' | 'not-executable' | 'missing' }) {
    dir = mkdtempSync(join(tmpdir(), 'wk-impl-'));
    const shippedBinary = join(dir, 'wirekube-relay-link');
    if (options.shipped !== 'missing') {
      writeFileSync(shippedBinary, '#!/bin/sh\n');
      chmodSync(shippedBinary, options.shipped === 'executable' ? 0o755 : 0o644);
    }
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    });
    relayLinkSpawner({ socketPath: join(dir, 'l.sock'), env: options.env, shippedBinary, log: pino(sink) });
    return { lines, shippedBinary };
  }

  it('nothing set, shipped binary executable: Go, with its path', () => {
    const { lines, shippedBinary } = logged({ env: {}, shipped: 'executable' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      event: 'relay-link-implementation',
      implementation: 'go',
      reason: 'shipped-binary',
      path: shippedBinary,
    });
  });

  it.each(['not-executable', 'missing'] as const)('nothing set, shipped binary %s: Node', (shipped) => {
    const { lines, shippedBinary } = logged({ env: {}, shipped });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      event: 'relay-link-implementation',
      implementation: 'node',
      reason: 'no-shipped-binary',
      path: process.argv[1],
      shipped: shippedBinary,
    });
  });

  it('WIREKUBE_RELAY_LINK_BINARY=node: Node', () => {
    const { lines } = logged({ env: { WIREKUBE_RELAY_LINK_BINARY: 'node' }, shipped: 'executable' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ implementation: 'node', reason: 'env-node' });
  });

  it('WIREKUBE_RELAY_LINK_BINARY=<path>: that path', () => {
    const { lines } = logged({ env: { WIREKUBE_RELAY_LINK_BINARY: '/opt/wkrl' }, shipped: 'executable' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ implementation: 'go', reason: 'env-binary', path: '/opt/wkrl' });
  });
});
