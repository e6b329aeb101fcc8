import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import stun from '@msimerson/stun';
import { errorMessage } from '../errors.js';
import type { StunObservation } from '../nat/classify.js';

export interface StunQueryOptions {
  /** Local UDP port to send from (the WireGuard listen port, so the mapping is WireGuard's). 0: any. */
  localPort: number;
  localAddress?: string;
  /** Per-attempt timeout; a lost datagram is retried until `attempts` run out (RFC 8489 retransmits too). */
  timeoutMs?: number;
  attempts?: number;
}

/** Raised when the local port cannot be bound, typically because the preserved WireGuard interface holds it. */
export class StunPortInUseError extends Error {
  constructor(readonly port: number) {
    super(`STUN: local UDP port ${port} is in use`);
    this.name = 'StunPortInUseError';
  }
}

/**
 * Sends binding requests to every server from ONE socket bound to `localPort` and collects the mapped
 * addresses. One socket matters: mapping behaviour is only observable for a single local transport address.
 */
export async function queryStunServers(
  servers: readonly string[],
  options: StunQueryOptions,
): Promise<StunObservation[]> {
  const socket = createSocket({ type: 'udp4', reuseAddr: false });
  try {
    await bind(socket, options.localPort, options.localAddress);
    return await Promise.all(servers.map((server) => queryOne(socket, server, options)));
  } finally {
    socket.close();
  }
}

function bind(socket: Socket, port: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new StunPortInUseError(port) : error);
    };
    socket.once('error', onError);
    socket.bind({ port, ...(address ? { address } : {}), exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

export function parseHostPort(server: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(server);
  if (!match) throw new Error(`invalid STUN server "${server}", expected host:port`);
  return { host: match[1]!, port: Number(match[2]) };
}

async function queryOne(socket: Socket, server: string, options: StunQueryOptions): Promise<StunObservation> {
  let target: { host: string; port: number };
  try {
    target = parseHostPort(server);
  } catch (error) {
    return { server, error: errorMessage(error) };
  }
  if (isIPv6(target.host)) return { server, error: 'IPv6 STUN servers are not queried from an IPv4 socket' };
  const attempts = options.attempts ?? 3;
  const timeoutMs = options.timeoutMs ?? 500;
  const request = stun.createMessage(stun.constants.STUN_BINDING_REQUEST);
  const transaction = request.transactionId;
  const payload = request.toBuffer();
  return new Promise<StunObservation>((resolve) => {
    let attempt = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: StunObservation) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(result);
    };
    const onMessage = (message: Buffer) => {
      let response: ReturnType<typeof stun.decode>;
      try {
        response = stun.decode(message);
      } catch {
        return; // not STUN, or not for us
      }
      if (!response.transactionId?.equals(transaction)) return;
      const mapped = response.getXorAddress() ?? response.getAddress();
      finish(
        mapped
          ? { server, mapped: { address: mapped.address, port: mapped.port } }
          : { server, error: 'no mapped address in response' },
      );
    };
    const send = () => {
      if (attempt >= attempts) {
        finish({ server, error: `no answer after ${attempts} attempts` });
        return;
      }
      attempt += 1;
      socket.send(payload, target.port, target.host, (error) => {
        if (error) finish({ server, error: error.message });
      });
      timer = setTimeout(send, timeoutMs);
    };
    socket.on('message', onMessage);
    send();
  });
}
