import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { RelayServerOptions } from '../../src/server/options.js';
import { RawPeer } from './raw-peer.js';
import { startRelay, type TestRelay } from './relay.js';

/** What a test must undo in afterEach, newest first. */
export type Cleanups = Array<() => unknown>;

/** A relay logging at info into memory, as the program does by default; closed by the cleanups. */
export async function loggedRelay(
  cleanups: Cleanups,
  options: RelayServerOptions = {},
): Promise<{ relay: TestRelay; lines: () => Array<Record<string, unknown>> }> {
  const written: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  const relay = await startRelay({ logger: pino({ level: 'info' }, sink), ...options });
  cleanups.push(() => relay.close());
  const lines = () =>
    written
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { relay, lines };
}

/** A RawPeer connected to the relay, destroyed by the cleanups. */
export async function trackedPeer(cleanups: Cleanups, r: TestRelay): Promise<RawPeer> {
  const p = await RawPeer.connect(r.port);
  cleanups.push(() => p.destroy());
  return p;
}
