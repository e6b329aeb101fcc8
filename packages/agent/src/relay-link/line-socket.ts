import type { Socket } from 'node:net';
import { MAX_LINE_BYTES } from './protocol.js';

/**
 * Splits a socket's bytes into lines for the relay-link protocol. A line over MAX_LINE_BYTES calls `onOverflow`
 * once and nothing more is delivered: the connection is broken, not the process.
 */
export function onLines(socket: Socket, onLine: (line: string) => void, onOverflow: () => void): void {
  let buffered = '';
  let broken = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    if (broken) return;
    buffered += chunk;
    for (;;) {
      const end = buffered.indexOf('\n');
      if (end < 0) break;
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      if (line.trim() !== '') onLine(line);
      if (broken || socket.destroyed) return;
    }
    if (Buffer.byteLength(buffered) > MAX_LINE_BYTES) {
      broken = true;
      buffered = '';
      onOverflow();
    }
  });
}
