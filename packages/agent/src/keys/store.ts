import { join } from 'node:path';
import { loadOrCreatePrivateKey, publicKeyFromPrivate } from '@wirekube/netlink';
import type { KeySource } from '../daemon/agent.js';

/** The node's X25519 key, created once under the key directory (0600) and reused across restarts. */
export function fileKeySource(keyDir: string): KeySource {
  return {
    async load() {
      const { privateKey, created } = await loadOrCreatePrivateKey(join(keyDir, 'private.key'));
      return { privateKey, publicKey: publicKeyFromPrivate(privateKey), created };
    },
  };
}
