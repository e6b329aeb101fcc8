import { existsSync, unlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LinkSession } from './client.js';

export interface RelayLinkStopResult {
  /** A relay-link answered and was asked to stop. */
  stopped: boolean;
  pid?: number;
  /** The socket file was there (live or stale) and is gone now. */
  socketRemoved: boolean;
}

/**
 * `cleanup`'s step for the relay-link: asks a running one to stop over its socket (it closes the relay
 * connection and its proxy sockets, removes its socket and exits), then makes sure no socket file is left.
 */
export async function stopRelayLink(socketPath: string, timeoutMs = 5_000): Promise<RelayLinkStopResult> {
  const present = existsSync(socketPath);
  let stopped = false;
  let pid: number | undefined;
  try {
    const session = await LinkSession.open(socketPath, timeoutMs);
    pid = session.pid;
    const reply = await session.request({ type: 'stop' });
    stopped = reply.type === 'stopping';
    session.close();
  } catch {
    // Nothing answers: at most a stale socket file is left to remove.
  }
  const deadline = Date.now() + timeoutMs;
  while (stopped && existsSync(socketPath) && Date.now() < deadline) await sleep(20);
  if (existsSync(socketPath)) unlinkSync(socketPath);
  return { stopped, ...(pid ? { pid } : {}), socketRemoved: present };
}
