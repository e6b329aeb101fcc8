import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabHost } from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');

/** Runs probe.ts inside the host and returns its JSON; a probe failure throws with the probe's own error. */
export async function probe<T>(host: LabHost, command: string, input: unknown): Promise<T> {
  const result = await host.exec(
    ['node', '--import', 'tsx', join(here, 'probe.ts'), command, JSON.stringify(input)],
    {
      cwd: repoRoot,
      allowFail: true,
      timeoutMs: 60_000,
    },
  );
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    throw new Error(
      `probe ${command} in ${host.name} printed no JSON (exit ${result.code}): ${result.stderr}`,
    );
  }
  if (result.code !== 0)
    throw new Error(`probe ${command} in ${host.name} failed: ${last}\n${result.stderr}`);
  return parsed as T;
}
