// Run inside a lab host: opens N TCP connections to a relay and feeds each, over and over, one kind of bad
// input — random bytes, truncated frames, oversized length prefixes, zero lengths, unknown types, a trickled
// header (slow loris), registrations with random keys followed by Data frames to keys nobody holds — and
// reconnects whenever the relay hangs up.
//
// Each worker starts one attempt per fixed period whatever the target does (a relay that hangs up at once does
// not make it reconnect faster), so the fuzzer's own CPU cost is the same against the relay and against a
// discard sink that never hangs up: that is what makes the sink a fair baseline for the relay's cost of garbage.
// SIGUSR1 pauses it, SIGUSR2 aims it at the relay, SIGHUP at the sink (one process serves every round of a
// measurement); prints one JSON line of counts when stopped (SIGINT/SIGTERM), per target.
//
//   node --import tsx e2e/src/chaos/relay-fuzzer.ts <host> <port> [connections] [sink-host sink-port]
import { connect, type Socket } from 'node:net';
import { attemptMs, KINDS, type Kind, payload, TRICKLE_MS } from '@wirekube/relay/testing';

/** A worker starts one attempt per period: the longest an attempt can take, plus a little. */
const periodMs = (kind: Kind) => attemptMs(kind) + 20;

type Target = 'relay' | 'sink';
const counts = { connections: 0, closedByRelay: 0, errors: 0, bytes: 0 } as Record<string, number>;
const sinkCounts = { connections: 0, closedByRelay: 0, errors: 0, bytes: 0 } as Record<string, number>;
let stopping = false;
let paused = false;
let target: Target = 'relay';

function attempt(host: string, port: number, kind: Kind, tally: Record<string, number>): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host, port });
    tally.connections = (tally.connections ?? 0) + 1;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve();
    };
    socket.on('error', () => {
      tally.errors = (tally.errors ?? 0) + 1;
      finish();
    });
    socket.on('close', () => {
      tally.closedByRelay = (tally.closedByRelay ?? 0) + (done ? 0 : 1);
      finish();
    });
    socket.on('data', () => undefined);
    // The attempt ends on its own schedule, counted from its start, whatever the target (and a slow connect on
    // a loaded machine) does: that keeps the attempt rate equal for the relay and the sink.
    const hangUp = setTimeout(finish, attemptMs(kind));
    socket.once('close', () => clearTimeout(hangUp));
    socket.on('connect', async () => {
      const chunks = payload(kind);
      for (const chunk of chunks) {
        if (done) return;
        socket.write(chunk);
        tally.bytes = (tally.bytes ?? 0) + chunk.length;
        if (kind === 'slow-header') await sleep(TRICKLE_MS);
      }
      // Then linger until hangUp (a half-sent frame sits in the relay's buffer meanwhile).
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Endpoint {
  host: string;
  port: number;
}

async function worker(targets: Record<Target, Endpoint | undefined>, index: number): Promise<void> {
  const kind = KINDS[index % KINDS.length] as Kind;
  const period = periodMs(kind);
  // Spread the workers' phases so the attempts do not arrive in lockstep bursts.
  await sleep((index * 7) % period);
  while (!stopping) {
    const to = targets[target];
    if (paused || to === undefined) {
      await sleep(50);
      continue;
    }
    const started = Date.now();
    const tally = target === 'relay' ? counts : sinkCounts;
    await attempt(to.host, to.port, kind, tally);
    tally[kind] = (tally[kind] ?? 0) + 1;
    await sleep(Math.max(0, started + period - Date.now()));
  }
}

async function main(args: string[]): Promise<void> {
  const [host, portText, connectionsText, sinkHost, sinkPortText] = args;
  const port = Number(portText);
  const connections = Number(connectionsText ?? 50);
  const sinkPort = Number(sinkPortText);
  if (
    !host ||
    !Number.isInteger(port) ||
    !Number.isInteger(connections) ||
    (sinkHost !== undefined && !Number.isInteger(sinkPort))
  ) {
    throw new Error('usage: relay-fuzzer.ts <host> <port> [connections] [sink-host sink-port]');
  }
  const targets: Record<Target, Endpoint | undefined> = {
    relay: { host, port },
    sink: sinkHost === undefined ? undefined : { host: sinkHost, port: sinkPort },
  };
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
    target = 'relay';
  });
  process.on('SIGHUP', () => {
    paused = false;
    target = 'sink';
  });
  process.stdout.write('fuzzer ready\n');
  await Promise.all(Array.from({ length: connections }, (_, i) => worker(targets, i)));
  process.stdout.write(`${JSON.stringify({ relay: counts, sink: sinkCounts })}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`relay-fuzzer: ${error.message}\n`);
    process.exit(2);
  },
);
