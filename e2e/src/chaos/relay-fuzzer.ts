// Run inside a lab host: opens N TCP connections to a relay and feeds each, over and over, one kind of bad
// input — random bytes, truncated frames, oversized length prefixes, zero lengths, unknown types, a trickled
// header (slow loris), registrations with random keys followed by Data frames to keys nobody holds — and
// reconnects whenever the relay hangs up. SIGUSR1 pauses it, SIGUSR2 resumes it (so one process serves several
// rounds of a measurement); prints one JSON line of counts when stopped (SIGINT/SIGTERM).
//
//   node --import tsx e2e/src/chaos/relay-fuzzer.ts <host> <port> [connections]
import { randomBytes, randomInt } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const KINDS = [
  'random',
  'truncated',
  'oversized',
  'zero-length',
  'unknown-type',
  'slow-header',
  'random-register',
] as const;
type Kind = (typeof KINDS)[number];

const counts = { connections: 0, closedByRelay: 0, errors: 0, bytes: 0 } as Record<string, number>;
let stopping = false;
let paused = false;

function frame(type: number, body: Buffer, declared = body.length + 1): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(declared >>> 0, 0);
  header.writeUInt8(type, 4);
  return Buffer.concat([header, body]);
}

/** The bytes one attempt of `kind` sends; `slow-header` is trickled by the caller. */
function payload(kind: Kind): Buffer[] {
  switch (kind) {
    case 'random':
      return [randomBytes(randomInt(1, 4096))];
    case 'truncated':
      // Declares a full Data frame, sends a sliver of it, then goes quiet or hangs up.
      return [frame(0x02, randomBytes(randomInt(1, 40)), randomInt(100, 65_536))];
    case 'oversized':
      // Past the 65,536 limit: the relay must refuse the header, not buffer what follows.
      return [frame(0x02, Buffer.alloc(0), randomInt(65_537, 0x7fffffff)), randomBytes(64 * 1024)];
    case 'zero-length':
      return [Buffer.from([0, 0, 0, 0]), randomBytes(16)];
    case 'unknown-type':
      return [frame(randomInt(0x04, 0xff), randomBytes(randomInt(0, 512)))];
    case 'slow-header':
      return [...frame(0x01, randomBytes(32))].map((b) => Buffer.from([b]));
    case 'random-register': {
      const register = frame(0x01, randomBytes(32));
      const data = Array.from({ length: 20 }, () =>
        frame(0x02, Buffer.concat([randomBytes(32), randomBytes(randomInt(0, 1400))])),
      );
      return [register, ...data, frame(0x02, randomBytes(32), 70_000)];
    }
  }
}

function attempt(host: string, port: number, kind: Kind): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host, port });
    counts.connections = (counts.connections ?? 0) + 1;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve();
    };
    socket.on('error', () => {
      counts.errors = (counts.errors ?? 0) + 1;
      finish();
    });
    socket.on('close', () => {
      counts.closedByRelay = (counts.closedByRelay ?? 0) + (done ? 0 : 1);
      finish();
    });
    socket.on('data', () => undefined);
    socket.on('connect', async () => {
      const chunks = payload(kind);
      for (const chunk of chunks) {
        if (done) return;
        socket.write(chunk);
        counts.bytes = (counts.bytes ?? 0) + chunk.length;
        if (kind === 'slow-header') await sleep(50);
      }
      // Linger a little (a half-sent frame sits in the relay's buffer meanwhile), then hang up ourselves.
      setTimeout(finish, kind === 'truncated' ? 500 : 100);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function worker(host: string, port: number, index: number): Promise<void> {
  const kind = KINDS[index % KINDS.length] as Kind;
  while (!stopping) {
    if (paused) {
      await sleep(50);
      continue;
    }
    await attempt(host, port, kind);
    counts[kind] = (counts[kind] ?? 0) + 1;
    await sleep(20);
  }
}

async function main(args: string[]): Promise<void> {
  const [host, portText, connectionsText] = args;
  const port = Number(portText);
  const connections = Number(connectionsText ?? 50);
  if (!host || !Number.isInteger(port) || !Number.isInteger(connections)) {
    throw new Error('usage: relay-fuzzer.ts <host> <port> [connections]');
  }
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.on('SIGUSR1', () => {
    paused = true;
  });
  process.on('SIGUSR2', () => {
    paused = false;
  });
  process.stdout.write('fuzzer ready\n');
  await Promise.all(Array.from({ length: connections }, (_, i) => worker(host, port, i)));
  process.stdout.write(`${JSON.stringify(counts)}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`relay-fuzzer: ${error.message}\n`);
    process.exit(2);
  },
);
