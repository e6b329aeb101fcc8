import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { type DesiredRelay, RelayConnection, type RelayLink } from '../relay/connection.js';
import { onLines } from './line-socket.js';
import {
  decodeRequest,
  encode,
  LINK_PROTOCOL_VERSION,
  LinkError,
  type LinkKeys,
  LinkProtocolError,
  type LinkReply,
  type LinkRequest,
  type LinkView,
  type WireCounters,
} from './protocol.js';

export interface RelayLinkServerOptions {
  socketPath: string;
  log: Logger;
  /** The relay side for one key pair; default a RelayConnection (tests pass one with their own resolver). */
  createConnection?: (keys: LinkKeys) => RelayLink;
  /** A client asked the process to stop (`wirekube-agent cleanup`): called after the answer went out. */
  onStop?: () => void;
  /** Monotonic milliseconds, the proxy's clock (turned into ages on the wire). */
  now?: () => number;
}

/**
 * The relay-link process's server: one RelayConnection (the node's relay connection and the UDP proxy WireGuard
 * sends relayed peers' datagrams to), driven over a unix socket by whichever agent is running. It outlives the
 * agent, so an agent restart finds the same relay session and the same proxy ports.
 */
export class RelayLinkServer {
  private server?: Server;
  private readonly clients = new Set<Socket>();
  private connection?: RelayLink;
  private keys?: LinkKeys;
  private peers: readonly string[] = [];
  /** Requests from every client run one at a time: each set sees the state the previous one left. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly options: RelayLinkServerOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  async listen(): Promise<void> {
    const { socketPath, log } = this.options;
    // The socket carries the node's private key: only root (the agent) may reach it.
    mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
    chmodSync(dirname(socketPath), 0o700);
    const server = createServer((socket) => this.accept(socket));
    try {
      await listenOn(server, socketPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      if (await answers(socketPath))
        throw new LinkError('another relay-link already serves this socket', 'unavailable', socketPath);
      // Left by a relay-link that died without cleaning up: nobody listens on it.
      unlinkSync(socketPath);
      await listenOn(server, socketPath);
    }
    chmodSync(socketPath, 0o600);
    this.server = server;
    log.info({ event: 'relay-link-listening', socket: socketPath }, 'relay-link listening');
  }

  async close(): Promise<void> {
    for (const socket of this.clients) socket.destroy();
    this.clients.clear();
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      try {
        unlinkSync(this.options.socketPath);
      } catch {
        // already gone
      }
    }
    await this.queue.catch(() => undefined);
    await this.connection?.close();
    this.connection = undefined;
  }

  private accept(socket: Socket): void {
    const { log } = this.options;
    this.clients.add(socket);
    let greeted = false;
    let refused = false;
    let chain: Promise<void> = Promise.resolve();
    const refuse = (error: LinkProtocolError) => {
      refused = true;
      log.warn(
        { event: 'relay-link-bad-message', field: error.field, err: error.message },
        'relay-link client sent a bad message; closing that connection',
      );
      // After the answers to what came before it, in order.
      chain = chain.then(() => {
        socket.end(encode({ type: 'error', code: error.code, message: error.message, field: error.field }));
      });
    };
    onLines(
      socket,
      (line) => {
        if (refused) return;
        let request: LinkRequest;
        try {
          request = decodeRequest(line);
          if (!greeted && request.type !== 'hello')
            throw new LinkProtocolError('the first message must be hello', 'type', 'not-hello');
          if (request.type === 'hello' && request.version !== LINK_PROTOCOL_VERSION)
            throw new LinkProtocolError(
              `version ${request.version} not supported (this relay-link speaks ${LINK_PROTOCOL_VERSION})`,
              'version',
              'version',
            );
        } catch (error) {
          refuse(
            error instanceof LinkProtocolError ? error : new LinkProtocolError(String(error), 'message'),
          );
          return;
        }
        greeted = true;
        chain = chain.then(async () => {
          const reply = await this.handle(request);
          if (!socket.destroyed) socket.write(encode(reply));
          if (request.type === 'stop') {
            socket.end();
            this.options.onStop?.();
          }
        });
      },
      () => refuse(new LinkProtocolError('line too long', 'message')),
    );
    socket.on('error', () => undefined);
    socket.on('close', () => this.clients.delete(socket));
  }

  private handle(request: LinkRequest): Promise<LinkReply> {
    const run = async (): Promise<LinkReply> => {
      switch (request.type) {
        case 'hello':
          return { type: 'hello', version: LINK_PROTOCOL_VERSION, pid: process.pid };
        case 'view':
          return { type: 'view', view: this.view() };
        case 'stop':
          this.options.log.info({ event: 'relay-link-stop-requested' }, 'relay-link asked to stop');
          return { type: 'stopping' };
        case 'set':
          try {
            await this.set(request.desired, request.keys);
            return { type: 'view', view: this.view() };
          } catch (error) {
            return { type: 'error', code: 'set-failed', message: (error as Error).message };
          }
      }
    };
    const reply = this.queue.then(run);
    this.queue = reply.catch(() => undefined);
    return reply;
  }

  private async set(desired: DesiredRelay, keys: LinkKeys): Promise<void> {
    if (
      !this.connection ||
      this.keys?.publicKey !== keys.publicKey ||
      this.keys.privateKey !== keys.privateKey
    ) {
      // A new key pair is a new identity at the relay (its auth proof): a fresh connection and fresh sockets.
      if (this.connection)
        this.options.log.info({ event: 'relay-link-key-changed', publicKey: keys.publicKey }, 'key changed');
      await this.connection?.close();
      this.connection = (this.options.createConnection ?? this.defaultConnection)(keys);
      this.keys = keys;
    }
    this.peers = desired.peers;
    await this.connection.set(desired);
  }

  private readonly defaultConnection = (keys: LinkKeys): RelayLink =>
    new RelayConnection({ ...keys, log: this.options.log });

  private view(): LinkView {
    const c = this.connection;
    if (!c) return { ready: false, addresses: [], peers: [] };
    const nowMs = this.now();
    const peers: LinkView['peers'] = [];
    for (const key of this.peers) {
      const endpoint = c.proxyEndpoint(key);
      if (!endpoint) continue;
      const raw = c.proxyCounters(key);
      const counters: WireCounters | undefined = raw && {
        txPackets: raw.txPackets,
        txBytes: raw.txBytes,
        txDrops: raw.txDrops,
        rxPackets: raw.rxPackets,
        rxBytes: raw.rxBytes,
        ...(raw.lastTxAt > 0 ? { txAgeMs: Math.max(0, nowMs - raw.lastTxAt) } : {}),
        ...(raw.lastRxAt > 0 ? { rxAgeMs: Math.max(0, nowMs - raw.lastRxAt) } : {}),
      };
      peers.push({ key, endpoint, ...(counters ? { counters } : {}) });
    }
    return { ready: c.ready, addresses: [...c.addresses], peers };
  }
}

function listenOn(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once('error', failed);
    // Created 0600 from the start: no window in which another user could connect.
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', failed);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
}

/** True when something accepts connections on the socket. */
export function answers(path: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
