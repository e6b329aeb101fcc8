import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import type { RootLinkPlan } from './plan.js';

/**
 * Picks a /30 in 10.255.0.0/16 for the root namespace's one link to the control plane, avoiding every
 * address and route the root namespace already has (other runs' links included). Not pure: reads `ip`.
 */
export function chooseRootLink(): Omit<RootLinkPlan, 'rootIfname'> {
  const taken =
    spawnSync('ip', ['-4', '-o', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout ?? '';
  const addresses = spawnSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' }).stdout ?? '';
  for (let attempt = 0; attempt < 100; attempt++) {
    const third = randomInt(0, 256);
    const fourth = randomInt(0, 64) * 4;
    if (taken.includes(`10.255.${third}.`) || addresses.includes(`10.255.${third}.`)) continue;
    return {
      rootAddress: `10.255.${third}.${fourth + 1}`,
      nsAddress: `10.255.${third}.${fourth + 2}`,
      prefixLength: 30,
    };
  }
  throw new Error('no free /30 in 10.255.0.0/16 for the control plane link');
}
