// Issue 11.11: build-tools.sh rebuilt kube-apiserver and kubectl on every run (it looked for kubectl in a cache
// directory it never builds into), so every `npm test`, `lab:setup` and playground paid ≈11 s or more.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TOOLS_BIN } from '../src/tools.js';

const BUILD_TOOLS = fileURLToPath(new URL('../tools/build-tools.sh', import.meta.url));

function buildTools() {
  const began = performance.now();
  const result = spawnSync('bash', [BUILD_TOOLS], { encoding: 'utf8', timeout: 30 * 60_000 });
  return { ...result, ms: performance.now() - began };
}

describe('e2e/tools/build-tools.sh', () => {
  it(
    'build-tools rebuilds nothing when the tools are present: a second run is a silent no-op',
    () => {
      const first = buildTools(); // builds whatever is missing (nothing, after `npm run lab:setup`)
      expect(first.status, first.stderr).toBe(0);
      const second = buildTools();
      expect(second.status, second.stderr).toBe(0);
      expect(second.stderr).not.toMatch(/building/i);
      expect(second.ms).toBeLessThan(2_000);
      for (const tool of [
        'kube-apiserver',
        'kubectl',
        'etcd',
        'helm',
        'kubelet',
        'kube-controller-manager',
        'kube-scheduler',
        'lab-pause',
      ]) {
        expect(existsSync(`${TOOLS_BIN}/${tool}`), tool).toBe(true);
      }
    },
    31 * 60_000,
  );
});
