// Where the release finds helm: the lab's pinned build (e2e/tools/build-tools.sh; the same lookup as
// e2e/src/tools.ts, which this plain script cannot import), else `helm` on PATH.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ReleaseError } from './exec.mjs';

const toolsBin = () =>
  process.env.WIREKUBE_TOOLS_BIN ??
  join(
    process.env.WIREKUBE_TOOLS_CACHE ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'wirekube-lab'),
    'bin',
  );

/** @param {string} tool */
export function findTool(tool) {
  const candidates = [
    join(toolsBin(), tool),
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, tool)),
  ];
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) {
    throw new ReleaseError(
      'tools',
      `${tool} not found in ${toolsBin()} or on PATH: run \`npm run lab:setup\` first`,
    );
  }
  return found;
}
