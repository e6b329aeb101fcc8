// A bare OCI registry on loopback (Debian's docker-registry, plain HTTP), for the release test when no lab is
// needed: the same server the lab runs in its control-plane namespace (e2e/src/registry/server.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LabProcess, signalGroup, spawnTracked } from '../exec/process.js';
import { writeRegistryConfig } from '../registry/server.js';
import { onExit } from '../state/exit-hooks.js';
import { freeLoopbackPort, waitForHttp } from './loopback.js';

export interface LoopbackRegistry {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly process: LabProcess;
  /** Stops the server and deletes its storage. */
  stop(): Promise<void>;
}

export async function startLoopbackRegistry(timeoutMs = 20_000): Promise<LoopbackRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'wirekube-oci-'));
  const port = await freeLoopbackPort();
  const address = `127.0.0.1:${port}`;
  const config = writeRegistryConfig(dir, address);
  const process = spawnTracked(['docker-registry', 'serve', config]);
  // A test killed mid-run must not leave the server (its own process group) or its storage behind.
  const forget = onExit(() => {
    signalGroup(process.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const stop = async () => {
    await process.stop();
    forget();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp('docker-registry /v2/', `http://${address}/v2/`, process, timeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, process, stop };
}
