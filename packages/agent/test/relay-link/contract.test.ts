import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RelayServer } from '@wirekube/relay/server';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { RelayConnection, type RelayLink } from '../../src/relay/connection.js';
import { RemoteRelayLink } from '../../src/relay-link/remote.js';
import { RelayLinkServer } from '../../src/relay-link/server.js';
import { silentLog } from '../fakes.js';
import { type LinkHarness, relayLinkContract } from './contract.js';
import { nativeRelayLinkBinary, startNative, stopChild } from './native-binary.js';

let relay: RelayServer;
let port = 0;
beforeAll(async () => {
  relay = new RelayServer({ closeGraceMs: 100 });
  port = (await relay.listen(0, '127.0.0.1')).port;
});
afterAll(async () => {
  await relay.close();
});

const target = () => ({ host: '127.0.0.1', port, pool: false, source: 'external' as const });

relayLinkContract('RelayConnection (in-process)', (): LinkHarness => {
  const links: RelayLink[] = [];
  return {
    target,
    async create(keys) {
      const link = new RelayConnection({ ...keys, log: silentLog });
      links.push(link);
      return link;
    },
    async cleanup() {
      for (const l of links) await l.close();
    },
  };
});

relayLinkContract('RemoteRelayLink over a relay-link server', (): LinkHarness => {
  const dir = mkdtempSync(join(tmpdir(), 'wk-link-'));
  const servers: RelayLinkServer[] = [];
  const links: RelayLink[] = [];
  return {
    target,
    async create(keys) {
      // One relay-link per node, as on a real node.
      const socketPath = join(dir, `n${servers.length}`, 'relay-link.sock');
      const server = new RelayLinkServer({ socketPath, log: silentLog });
      await server.listen();
      servers.push(server);
      const link = new RemoteRelayLink({ socketPath, keys, log: silentLog });
      links.push(link);
      return link;
    },
    async cleanup() {
      for (const l of links) await l.close();
      for (const s of servers) await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const native = nativeRelayLinkBinary();
if ('skip' in native) {
  describe('RelayLink contract: RemoteRelayLink over the Go relay-link', () => {
    it.skip(native.skip, () => undefined);
  });
} else {
  relayLinkContract('RemoteRelayLink over the Go relay-link', (): LinkHarness => {
    const dir = mkdtempSync(join(tmpdir(), 'wk-golink-'));
    const children: ChildProcess[] = [];
    const links: RelayLink[] = [];
    return {
      target,
      async create(keys) {
        const socketPath = join(dir, `n${children.length}`, 'relay-link.sock');
        children.push(await startNative(native.path, socketPath));
        const link = new RemoteRelayLink({ socketPath, keys, log: silentLog });
        links.push(link);
        return link;
      },
      async cleanup() {
        for (const l of links) await l.close();
        await Promise.all(children.map(stopChild));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
