import { request } from 'node:https';
import { LabTimeoutError } from '../errors.js';
import { sleep } from '../exec/pids.js';
import type { LabProcess } from '../exec/process.js';

export interface TlsClient {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface HttpsResult {
  status: number;
  body: string;
}

/** One request over TLS with the admin client certificate; rejects only on connection errors. */
export function httpsRequest(
  method: 'GET' | 'POST' | 'PATCH' | 'PUT',
  url: string,
  tls: TlsClient,
  body?: unknown,
  timeoutMs = 5000,
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    }
    const req = request(url, { ...tls, method, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Polls /readyz until it answers 200; fails early, with the server's output, if a process exits. */
export async function waitReady(
  server: string,
  tls: TlsClient,
  processes: readonly LabProcess[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const dead = processes.find((process) => process.done);
    if (dead) {
      throw new LabTimeoutError(
        'control plane start',
        timeoutMs,
        `${dead.argv.find((arg) => /(etcd|kube-apiserver)$/.test(arg)) ?? dead.argv.join(' ')} exited: ${dead.output().trim().slice(-3000)}`,
      );
    }
    try {
      const { status, body } = await httpsRequest('GET', `${server}/readyz`, tls, undefined, 2000);
      if (status === 200) return;
      last = `${status} ${body.trim().slice(-500)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new LabTimeoutError('kube-apiserver /readyz', timeoutMs, last);
    await sleep(50);
  }
}
