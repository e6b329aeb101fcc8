import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabHost } from '../host.js';

const here = dirname(fileURLToPath(import.meta.url));
// tsx is a workspace dev dependency; resolving it from the repository root works from any cwd.
const REPO_ROOT = join(here, '..', '..', '..');

export interface StunProbeResult {
  localPort: number;
  /** `ip:port` as seen by each server, in the order asked. */
  mapped: string[];
}

/** From inside `host`, asks each STUN server for this host's mapped address, all from one local port. */
export async function stunProbe(
  host: LabHost,
  servers: readonly string[],
  localPort = 0,
): Promise<StunProbeResult> {
  const argv = [process.execPath, '--import', 'tsx', join(here, 'probe-cli.ts'), '--port', String(localPort)];
  const { stdout } = await host.exec([...argv, ...servers], { cwd: REPO_ROOT });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as StunProbeResult;
}
