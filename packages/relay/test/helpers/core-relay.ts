import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

/**
 * A second, deliberately minimal implementation of the four core frames, standing in for "another relay": it
 * routes Data by key (to the sender too, if addressed to itself), and ignores every frame type it does not know —
 * Hello included, without an Error. It shares no code with src/ so the client is tested against the protocol,
 * not against our server.
 */
export class CoreOnlyRelay {
  private readonly routes = new Map<string, Socket>();
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  /** Frame types received, in order, over all connections. */
  readonly seenTypes: number[] = [];

  constructor(private readonly echoToSender = true) {}

  async listen(): Promise<number> {
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    let pending = Buffer.alloc(0);
    let own: string | null = null;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (own !== null && this.routes.get(own) === socket) this.routes.delete(own);
    });
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readUInt32BE(0);
        if (pending.length < 4 + length) break;
        const type = pending[4]!;
        const body = pending.subarray(5, 4 + length);
        pending = pending.subarray(4 + length);
        this.seenTypes.push(type);
        if (type === 0x01 && body.length === 32) {
          own = body.toString('hex');
          this.routes.set(own, socket);
        } else if (type === 0x02 && body.length >= 32 && own !== null) {
          const destination = body.subarray(0, 32).toString('hex');
          const target = this.routes.get(destination);
          if (target === undefined || (target === socket && !this.echoToSender)) continue;
          const out = Buffer.alloc(4 + length);
          out.writeUInt32BE(length, 0);
          out[4] = 0x02;
          Buffer.from(own, 'hex').copy(out, 5);
          body.subarray(32).copy(out, 37);
          target.write(out);
        }
      }
    });
  }
}
