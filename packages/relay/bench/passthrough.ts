// The benchmark's baseline: the most minimal TCP forwarder there is. Connections are paired in accept order
// (1st with 2nd, 3rd with 4th, ...) and piped both ways, bytes untouched. Prints its port on stdout.
import { createServer, type Socket } from 'node:net';

let waiting: Socket | null = null;
const server = createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => undefined);
  if (waiting === null || waiting.destroyed) {
    waiting = socket;
    socket.pause();
    return;
  }
  const other = waiting;
  waiting = null;
  other.resume();
  socket.pipe(other);
  other.pipe(socket);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`,
  );
});
process.on('SIGTERM', () => process.exit(0));
