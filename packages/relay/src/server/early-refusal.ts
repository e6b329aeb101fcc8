/**
 * Refusing a connection before Node builds a Socket for it. A penalized source's connection costs the relay
 * ≈ 400 µs on this machine when it is refused at the 'connection' event, nearly all of it Node's Socket and stream
 * construction and teardown — on the thread that forwards everyone's traffic. Node's public API has no hook
 * before that (only the global `maxConnections` drop, which closes the raw handle exactly like this), so this wraps
 * the listening handle's `onconnection`: the one place this package touches Node internals. Where the handle does
 * not look as expected (another Node version), nothing is installed and refusal falls back to the Socket path.
 */
import type { Server } from 'node:net';

/** The accepted connection's native handle, as Node's net module sees it before wrapping it in a Socket. */
interface ClientHandle {
  getpeername?(out: { address?: string }): number;
  close(): void;
}

type OnConnection = (this: unknown, status: number, client?: ClientHandle) => unknown;

interface ListenHandle {
  onconnection?: OnConnection;
}

/**
 * Makes `server` close connections for which `refuses(peerAddress)` is true without creating a Socket, calling
 * `onRefused` for each. Call once the server is listening. Returns whether it could.
 */
export function refuseBeforeSocket(
  server: Server,
  refuses: (address: string | undefined) => boolean,
  onRefused: () => void,
): boolean {
  const handle = (server as unknown as { _handle?: ListenHandle | null })._handle;
  const original = handle?.onconnection;
  if (!handle || typeof original !== 'function') return false;
  handle.onconnection = function (this: unknown, status: number, client?: ClientHandle) {
    if (status === 0 && client && typeof client.getpeername === 'function') {
      const peer: { address?: string } = {};
      client.getpeername(peer);
      if (refuses(peer.address)) {
        onRefused();
        client.close();
        return undefined;
      }
    }
    return original.call(this, status, client);
  };
  return true;
}
