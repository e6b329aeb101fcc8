import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LabTimeoutError } from '../errors.js';
import type { NamespaceShell } from '../exec/netns.js';
import { sleep } from '../exec/pids.js';
import type { LabProcess } from '../exec/process.js';

export const REGISTRY_PORT = 5000;

/** The lab's OCI registry: Debian's docker-registry over plain HTTP, next to the API server. */
export interface LabRegistry {
  /** `host:port` as lab hosts (and their containerd) reach it; image references use it. */
  readonly address: string;
  /** `host:port` as the root namespace reaches it (pushes from tests, buildah). */
  readonly rootAddress: string;
  readonly process: LabProcess;
}

export interface RegistryStart {
  shell: NamespaceShell;
  dir: string;
  /** Its address on the lab internet. */
  address: string;
  /** The same server's address on the root namespace's link. */
  rootAddress: string;
  timeoutMs?: number;
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Writes docker-registry's config (storage under `dir`, listening on `listen`) and returns its path. The lab's
 * registry and the release test's loopback one share it, so both serve the same way.
 */
export function writeRegistryConfig(dir: string, listen: string): string {
  const storage = join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    stringify({
      version: 0.1,
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true } },
      http: { addr: listen },
    }),
  );
  return config;
}

export async function startRegistry(start: RegistryStart): Promise<LabRegistry> {
  const config = writeRegistryConfig(start.dir, `0.0.0.0:${REGISTRY_PORT}`);
  const process = start.shell.spawn(['docker-registry', 'serve', config]);
  const address = `${start.address}:${REGISTRY_PORT}`;
  const rootAddress = `${start.rootAddress}:${REGISTRY_PORT}`;
  const timeoutMs = start.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process.done) {
      throw new LabTimeoutError(
        'registry start',
        timeoutMs,
        `docker-registry exited: ${process.output().slice(-2000)}`,
      );
    }
    if ((await get(`http://${rootAddress}/v2/`).catch(() => 0)) === 200) break;
    if (Date.now() > deadline)
      throw new LabTimeoutError('registry /v2/', timeoutMs, process.output().slice(-2000));
    await sleep(25);
  }
  return { address, rootAddress, process };
}
