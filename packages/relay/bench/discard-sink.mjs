// The baseline of bench/garbage.ts: the least a TCP server can do with a garbage connection — accept it, read
// and drop its bytes, close when the peer does. Prints {"port":N} when listening.
import { createServer } from 'node:net';

const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', () => undefined);
  socket.on('error', () => socket.destroy());
  socket.on('end', () => socket.end());
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
