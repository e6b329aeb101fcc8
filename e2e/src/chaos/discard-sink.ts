// Run inside a lab host: a TCP listener that reads whatever arrives and drops it, never answering and never
// hanging up first. It stands in for the relay as the fuzzer's target in the baseline rounds of the garbage
// test, so those rounds carry the fuzzer's own CPU cost (and a minimal receiver's) but none of the relay's.
// Prints "sink ready" once listening and one JSON line of counts when stopped (SIGINT/SIGTERM).
//
//   node --import tsx e2e/src/chaos/discard-sink.ts <host> <port>
import { createServer } from 'node:net';

const counts = { connections: 0, bytes: 0 };

function main(args: string[]): void {
  const [host, portText] = args;
  const port = Number(portText);
  if (!host || !Number.isInteger(port)) throw new Error('usage: discard-sink.ts <host> <port>');
  const server = createServer((socket) => {
    counts.connections++;
    socket.on('data', (chunk: Buffer) => {
      counts.bytes += chunk.length;
    });
    socket.on('error', () => undefined);
  });
  server.on('error', (error) => {
    process.stderr.write(`discard-sink: ${error.message}\n`);
    process.exit(2);
  });
  server.listen(port, host, () => process.stdout.write('sink ready\n'));
  const stop = () => {
    process.stdout.write(`${JSON.stringify(counts)}\n`);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2));
