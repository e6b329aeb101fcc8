// Servers the release test starts on loopback only (npm registry, OCI registry): a free port and a readiness wait.
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { LabTimeoutError } from '../errors.js';
import { sleep } from '../exec/pids.js';
import type { LabProcess } from '../exec/process.js';

/** A TCP port free on 127.0.0.1 right now (the kernel picks it; a server started next takes it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port from listen(0)'));
      });
    });
  });
}

function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Waits until `url` answers 200, failing early (with the server's output) if `process` exits. */
export async function waitForHttp(
  what: string,
  url: string,
  process: LabProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process.done) {
      throw new LabTimeoutError(what, timeoutMs, `exited before answering: ${process.output().slice(-2000)}`);
    }
    if ((await status(url).catch(() => 0)) === 200) return;
    if (Date.now() > deadline) throw new LabTimeoutError(what, timeoutMs, process.output().slice(-2000));
    await sleep(50);
  }
}
