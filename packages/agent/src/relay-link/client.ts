import { createConnection, type Socket } from 'node:net';
import { onLines } from './line-socket.js';
import {
  decodeReply,
  encode,
  LINK_PROTOCOL_VERSION,
  LinkError,
  LinkProtocolError,
  type LinkReply,
  type LinkRequest,
} from './protocol.js';

const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * One greeted connection to a relay-link: requests go out one at a time and each gets the next reply. Any
 * failure (a bad reply, a timeout, the socket closing) ends the session; the owner opens a new one.
 */
export class LinkSession {
  private pending?: { resolve(reply: LinkReply): void; reject(error: Error): void };
  private queue: Promise<unknown> = Promise.resolve();
  private ended?: LinkError;
  private readonly closeListeners: Array<(error: LinkError) => void> = [];
  /** The relay-link's process id, from its hello. */
  pid = 0;

  private constructor(
    private readonly socket: Socket,
    readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {
    onLines(
      socket,
      (line) => {
        let reply: LinkReply;
        try {
          reply = decodeReply(line);
        } catch (error) {
          const field = error instanceof LinkProtocolError ? error.field : 'message';
          this.end(
            new LinkError(`bad reply (${field}): ${(error as Error).message}`, 'bad-message', socketPath),
          );
          return;
        }
        const pending = this.pending;
        this.pending = undefined;
        if (pending) pending.resolve(reply);
        else this.end(new LinkError('reply without a request', 'bad-message', socketPath));
      },
      () => this.end(new LinkError('reply line too long', 'bad-message', socketPath)),
    );
    socket.on('error', (error) => this.end(new LinkError(error.message, 'closed', socketPath)));
    socket.on('close', () => this.end(new LinkError('connection closed', 'closed', socketPath)));
  }

  /** Connects and exchanges hellos; rejects with a LinkError when nothing answers or the version differs. */
  static async open(socketPath: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<LinkSession> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(socketPath);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new LinkError('connect timed out', 'timeout', socketPath));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new LinkError(`nothing answers (${error.code ?? error.message})`, 'unavailable', socketPath));
      });
    });
    const session = new LinkSession(socket, socketPath, timeoutMs);
    const hello = await session.request({ type: 'hello', version: LINK_PROTOCOL_VERSION });
    if (hello.type !== 'hello') {
      session.close();
      const detail = hello.type === 'error' ? hello.message : `answered ${hello.type}`;
      throw new LinkError(
        `hello refused: ${detail}`,
        hello.type === 'error' ? hello.code : 'bad-message',
        socketPath,
      );
    }
    session.pid = hello.pid;
    return session;
  }

  get closed(): boolean {
    return this.ended !== undefined;
  }

  onClose(listener: (error: LinkError) => void): void {
    if (this.ended) listener(this.ended);
    else this.closeListeners.push(listener);
  }

  request(message: LinkRequest): Promise<LinkReply> {
    const run = () =>
      new Promise<LinkReply>((resolve, reject) => {
        if (this.ended) {
          reject(this.ended);
          return;
        }
        const timer = setTimeout(() => {
          this.end(
            new LinkError(`no answer to ${message.type} in ${this.timeoutMs} ms`, 'timeout', this.socketPath),
          );
        }, this.timeoutMs);
        this.pending = {
          resolve: (reply) => {
            clearTimeout(timer);
            resolve(reply);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        this.socket.write(encode(message));
      });
    const reply = this.queue.then(run);
    this.queue = reply.catch(() => undefined);
    return reply;
  }

  /** Leaves the relay-link running: only this connection goes. */
  close(): void {
    this.end(new LinkError('closed by the agent', 'closed', this.socketPath));
  }

  private end(error: LinkError): void {
    if (this.ended) return;
    this.ended = error;
    this.socket.destroy();
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }
}
