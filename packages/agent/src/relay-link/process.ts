import type { Logger } from 'pino';
import { RelayLinkServer } from './server.js';

/**
 * The `relay-link` command: serves the node's relay connection on its socket until SIGTERM/SIGINT or a `stop`
 * request, then closes the relay connection and the proxy sockets and resolves 0. Needs no Kubernetes
 * credentials and no capabilities: it binds loopback UDP and connects TCP out.
 */
export async function runRelayLink(options: { socketPath: string; log: Logger }): Promise<number> {
  const { log } = options;
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let stopping = false;
  const server = new RelayLinkServer({
    socketPath: options.socketPath,
    log,
    onStop: () => void stop('stop-request'),
  });
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'shutdown', reason }, 'relay-link stopping');
    await server.close();
    finish(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Started detached by an agent that may be gone: a broken stdout must not take the relay path down.
  process.stdout.on('error', () => undefined);
  await server.listen();
  log.info(
    { event: 'relay-link-started', pid: process.pid, socket: options.socketPath },
    'relay-link started',
  );
  return finished;
}
