// Issue 11, item 10: a DNS name in WireKubePeer.spec.endpoint was accepted and then silently ignored (WireGuard
// takes addresses, and plan() resolves nothing). The real API server now refuses it with a message naming the
// field and saying why, while bracketed IPv6 endpoints stay valid.
import { seedExample } from '@wirekube/crd-types/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '../../src/index.js';

describe('WireKubePeer endpoint in the real API server', () => {
  let lab: Lab;

  beforeAll(async () => {
    lab = await createLab({ hosts: [{ name: 'pub', nat: 'none' }], controlPlane: true });
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  const apply = (name: string, endpoint: string) => {
    const peer = seedExample('WireKubePeer');
    (peer.metadata as { name: string }).name = name;
    (peer.spec as Record<string, unknown>).endpoint = endpoint;
    return lab.controlPlane!.kubectl(['create', '-f', '-'], { input: JSON.stringify(peer), allowFail: true });
  };

  it('refuses a DNS name, naming the field and the reason', async () => {
    const result = await apply('node-dns', 'node1.example.com:51820');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('spec.endpoint');
    expect(result.stderr).toContain('endpoint must be an IP address and port');
    expect(result.stderr).toContain('DNS names are not resolved');
  });

  it.each([
    ['node-v4', '203.0.113.5:51820'],
    ['node-v6', '[2001:db8::5]:51820'],
    ['node-v6-mapped', '[::ffff:192.0.2.1]:51820'],
  ])('accepts %s with %s', async (name, endpoint) => {
    const result = await apply(name, endpoint);
    expect(result.code, result.stderr).toBe(0);
  });
});
