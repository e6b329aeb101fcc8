import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabTimeoutError } from '../errors.js';
import type { NamespaceShell } from '../exec/netns.js';
import { sleep } from '../exec/pids.js';
import type { LabProcess } from '../exec/process.js';

export const STUN_PORT = 3478;
export const STUN_ALT_PORT = 3479;

export interface StunServer {
  /** `address:3478` for each listening address. */
  readonly servers: string[];
  readonly process: LabProcess;
}

/**
 * Starts coturn as a STUN-only RFC 5780 server on two addresses. Every file it could write (config, pid, user
 * database, log) is pointed into `dir`, so it touches nothing else on the machine.
 */
export async function startStun(
  shell: NamespaceShell,
  addresses: readonly string[],
  dir: string,
): Promise<StunServer> {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'turnserver.conf');
  writeFileSync(config, '# empty: everything is on the command line\n');
  const argv = [
    'turnserver',
    '--stun-only',
    ...addresses.flatMap((address) => ['-L', address]),
    '--listening-port',
    String(STUN_PORT),
    '--alt-listening-port',
    String(STUN_ALT_PORT),
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '-c',
    config,
    '--pidfile',
    join(dir, 'turnserver.pid'),
    '--userdb',
    join(dir, 'turndb'),
    '--log-file',
    'stdout',
    '--simple-log',
    '--no-software-attribute',
  ];
  const process = shell.spawn(argv);
  const wanted = addresses.map((address) => `${address}:${STUN_PORT}`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const sockets = await shell.exec(['ss', '-Hlun'], { allowFail: true });
    if (wanted.every((socket) => sockets.stdout.includes(socket))) break;
    if (process.done || Date.now() > deadline) {
      await process.stop();
      throw new LabTimeoutError('coturn STUN server start', 10_000, process.output().trim().slice(-2000));
    }
    await sleep(20);
  }
  return { servers: wanted, process };
}
