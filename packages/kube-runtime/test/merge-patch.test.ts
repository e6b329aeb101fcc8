import { describe, expect, it } from 'vitest';
import { mergePatchFor, mergePatchOptions } from '../src/index.js';

describe('mergePatchFor', () => {
  const cases: Array<[string, object | undefined, object, object | undefined]> = [
    ['equal objects: nothing to send', { a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2] } }, undefined],
    ['no previous: the whole next', undefined, { a: 1 }, { a: 1 }],
    ['no previous, empty next', undefined, {}, undefined],
    ['changed scalar', { a: 1 }, { a: 2 }, { a: 2 }],
    ['new key', { a: 1 }, { a: 1, b: 'x' }, { b: 'x' }],
    ['removed key becomes null', { a: 1, b: 'x' }, { a: 1 }, { b: null }],
    ['undefined in next counts as removed', { a: 1, b: 'x' }, { a: 1, b: undefined }, { b: null }],
    [
      'removed nested map key becomes null, kept keys are not sent',
      { peerTransports: { 'node-a': 'direct', 'node-b': 'relay' }, connected: true },
      { peerTransports: { 'node-a': 'direct' }, connected: true },
      { peerTransports: { 'node-b': null } },
    ],
    ['whole nested object removed', { m: { x: 1 } }, {}, { m: null }],
    ['arrays are replaced whole', { l: [1, 2, 3] }, { l: [1, 3] }, { l: [1, 3] }],
    ['object replacing a scalar is sent whole', { o: 'x' }, { o: { k: 1, u: undefined } }, { o: { k: 1 } }],
    ['false and 0 are values, not removals', { f: true, n: 1 }, { f: false, n: 0 }, { f: false, n: 0 }],
  ];
  it.each(cases)('%s', (_name, previous, next, expected) => {
    expect(mergePatchFor(previous, next)).toEqual(expected);
  });

  it('applying the patch (RFC 7386) to previous gives next', () => {
    const previous = { a: 1, m: { x: 1, y: { z: 2 } }, gone: 'g', l: [1] };
    const next = { a: 1, m: { y: { w: 3 } }, l: [2], added: { k: 'v' } };
    expect(applyMergePatch(previous, mergePatchFor(previous, next))).toEqual(next);
  });
});

describe('mergePatchOptions', () => {
  it('is a client-node configuration with middleware', () => {
    expect(mergePatchOptions()).toHaveProperty('middleware');
  });
});

function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}
