import { generateRawKeyPair, type RawKeyPair } from '../../src/auth/keys.js';
import type { RelayServerOptions } from '../../src/server/options.js';
import { RelayServer } from '../../src/server/server.js';

export interface TestRelay {
  server: RelayServer;
  port: number;
  close(): Promise<void>;
}

export async function startRelay(
  options: RelayServerOptions = {},
  host = '127.0.0.1',
  port = 0,
): Promise<TestRelay> {
  const server = new RelayServer({ closeGraceMs: 200, ...options });
  const address = await server.listen(port, host);
  return { server, port: address.port, close: () => server.close() };
}

export function keyPair(): RawKeyPair {
  return generateRawKeyPair();
}
