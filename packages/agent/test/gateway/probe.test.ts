import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProbeTarget, systemProber } from '../../src/gateway/probe.js';

describe('parseProbeTarget', () => {
  it.each([
    ['172.20.1.254:443', { kind: 'tcp', host: '172.20.1.254', port: 443 }],
    ['[fd00::1]:80', { kind: 'tcp', host: 'fd00::1', port: 80 }],
    ['172.20.1.254', { kind: 'icmp', host: '172.20.1.254' }],
    ['fd00::1', { kind: 'icmp', host: 'fd00::1' }],
    ['db.internal:5432', { kind: 'tcp', host: 'db.internal', port: 5432 }],
    ['1.2.3.4:0', undefined],
    ['1.2.3.4:99999', undefined],
    ['a b', undefined],
  ])('%s', (text, expected) => {
    expect(parseProbeTarget(text)).toEqual(expected);
  });
});

describe('systemProber on loopback (real sockets, real ping)', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('TCP connect to a listener passes', async () => {
    const result = await systemProber({ kind: 'tcp', host: '127.0.0.1', port }, 1000);
    expect(result).toMatchObject({ ok: true, error: '' });
  });

  it('TCP connect to a closed port fails with the reason', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await systemProber({ kind: 'tcp', host: '127.0.0.1', port: closedPort }, 1000);
    expect(result.ok).toBe(false);
    expect(result.error).toContain('ECONNREFUSED');
  });

  it('ICMP echo to loopback passes', async () => {
    expect(await systemProber({ kind: 'icmp', host: '127.0.0.1' }, 1000)).toMatchObject({ ok: true });
  });
});
