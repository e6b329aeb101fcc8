import { createConnection } from 'node:net';
import { join } from 'node:path';
import { UapiError } from '../../errors.js';

/** Exchanges one UAPI request for its reply; a fake in unit tests. */
export interface UapiTransport {
  request(iface: string, text: string): Promise<string>;
  /** Whether a daemon answers on the interface's socket. */
  alive(iface: string): Promise<boolean>;
  socketPath(iface: string): string;
}

export const DEFAULT_SOCKET_DIR = '/var/run/wireguard';

/** UAPI over the unix socket `<dir>/<iface>.sock`. One connection per request, as wg(8) does. */
export function socketTransport(options: { socketDir?: string; timeoutMs?: number } = {}): UapiTransport {
  const dir = options.socketDir ?? DEFAULT_SOCKET_DIR;
  const timeoutMs = options.timeoutMs ?? 5000;
  const socketPath = (iface: string) => join(dir, `${iface}.sock`);
  const request = (iface: string, text: string, operation: string) =>
    new Promise<string>((resolve, reject) => {
      const path = socketPath(iface);
      const socket = createConnection(path);
      const chunks: Buffer[] = [];
      let settled = false;
      const fail = (message: string, code?: string, errno?: number) => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(
          new UapiError(`${operation} on ${path}: ${message}`, {
            operation,
            iface,
            code,
            errno,
            detail: { path },
          }),
        );
      };
      socket.setTimeout(timeoutMs, () => fail(`no reply within ${timeoutMs} ms`, 'ETIMEDOUT', 110));
      socket.on('error', (error: NodeJS.ErrnoException) =>
        fail(
          error.code ?? error.message,
          error.code,
          typeof error.errno === 'number' ? Math.abs(error.errno) : undefined,
        ),
      );
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        const reply = Buffer.concat(chunks).toString('utf8');
        // A reply is complete at its errno line followed by the blank line.
        if (/(^|\n)errno=-?\d+\n\n$/.test(reply)) {
          settled = true;
          socket.end();
          resolve(reply);
        }
      });
      socket.on('end', () => {
        if (!settled) fail('connection closed before errno line');
      });
      socket.write(text);
    });
  return {
    socketPath,
    request: (iface, text) => request(iface, text, text.startsWith('get=') ? 'uapi.get' : 'uapi.set'),
    async alive(iface) {
      try {
        await request(iface, 'get=1\n\n', 'uapi.get');
        return true;
      } catch {
        return false;
      }
    },
  };
}
