// Issue 13.5: every environment variable and flag the chart passes to a program exists in that program's options,
// so a renamed flag or a typo in a template fails here instead of being silently ignored on a cluster.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { run } from '../src/exec/run.js';
import { toolPath } from '../src/tools.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const chart = join(root, 'charts', 'wirekube');
const home = mkdtempSync(join(tmpdir(), 'wirekube-helm-'));
const helmEnv = { ...process.env, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home };
const valueSets = ['default', ...readdirSync(join(chart, 'ci')).filter((f) => f.endsWith('-values.yaml'))];

/** Where each program's options are parsed (flags and the environment variables they fall back to). */
const optionSources: Record<string, string> = {
  agent: 'packages/agent/src/cli/options.ts',
  // The relay link with `relayLink.implementation: node` is the agent program's `relay-link` command.
  'relay-link': 'packages/agent/src/cli/options.ts',
  relay: 'packages/relay/src/program/config.ts',
  controller: 'packages/controller/src/cli/options.ts',
};
/** The Go relay-link in the agent image: the agent package's build-native output (native/bin), which
 * images/stage-app.sh copies with the package to /app/packages/agent; spawn.ts looks for it there too. */
const GO_RELAY_LINK = '/app/packages/agent/native/bin/wirekube-relay-link';
/** A container that runs a program other than its image's entrypoint: that program's options. */
/** The Go relay in the relay image (`relay.implementation: go`): the relay package's build-native output. */
const GO_RELAY = '/app/packages/relay/native/bin/wirekube-relay';
/** A container that runs a program other than its image's entrypoint: that program's options (a file, or a Go
 * package directory whose non-test sources are read together). */
const commandSources: Record<string, string> = {
  [GO_RELAY_LINK]: 'packages/agent/native/relay-link/main.go',
  [GO_RELAY]: 'packages/relay/native/relay',
};

interface Container {
  name: string;
  args?: string[];
  command?: string[];
  env?: { name: string }[];
}

async function containers(valueSet: string): Promise<Container[]> {
  const values = valueSet === 'default' ? [] : ['-f', join(chart, 'ci', valueSet)];
  const { stdout } = await run([toolPath('helm'), 'template', 'wirekube', chart, ...values], {
    env: helmEnv,
  });
  return parseAllDocuments(stdout).flatMap((document) => {
    const object = document.toJS() as {
      spec?: { template?: { spec?: { containers?: Container[] } } };
    } | null;
    return object?.spec?.template?.spec?.containers ?? [];
  });
}

function source(container: Container): string | undefined {
  const program = container.command?.[0];
  const path = program === undefined ? optionSources[container.name] : commandSources[program];
  const file = join(root, path ?? '');
  if (path === undefined || !existsSync(file)) return undefined;
  if (!statSync(file).isDirectory()) return readFileSync(file, 'utf8');
  return readdirSync(file)
    .filter((name) => name.endsWith('.go') && !name.endsWith('_test.go'))
    .map((name) => readFileSync(join(file, name), 'utf8'))
    .join('\n');
}

/** `name` appears in the source as a whole token (an env key or a flag in the usage text and parser). */
function mentions(text: string, name: string): boolean {
  return new RegExp(`(^|[^A-Za-z0-9_-])${name.replace(/[-]/g, '\\-')}([^A-Za-z0-9_-]|$)`).test(text);
}

describe('chart values → program flags (no drift)', () => {
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it.each(valueSets)(
    'with %s values, every env var and flag passed exists in the program',
    async (valueSet) => {
      const unknown: string[] = [];
      for (const container of await containers(valueSet)) {
        // wireguard-go is not ours: its one variable is the documented foreground switch.
        if (container.name === 'wireguard-go') {
          expect(container.env?.map((e) => e.name)).toEqual(['WG_PROCESS_FOREGROUND']);
          continue;
        }
        const text = source(container);
        if (text === undefined) {
          expect(container.command, `no option source for ${container.name}'s command`).toBeUndefined();
          // The controller's program lives on another branch until merged; its image test waits for it too.
          expect(container.name, `no option source for container ${container.name}`).toBe('controller');
          continue;
        }
        for (const { name } of container.env ?? []) {
          if (!mentions(text, name)) unknown.push(`${container.name}: env ${name}`);
        }
        for (const arg of container.args ?? []) {
          const flag = /^--[a-z0-9-]+/.exec(arg)?.[0];
          if (flag && !mentions(text, flag)) unknown.push(`${container.name}: flag ${flag}`);
        }
      }
      expect(unknown).toEqual([]);
    },
  );

  it.each([
    ['default', [GO_RELAY_LINK]],
    ['relay-link-node-values.yaml', undefined],
  ])(
    'relayLink.implementation with %s values: the relay-link container runs %o',
    async (valueSet, command) => {
      const links = (await containers(valueSet)).filter((c) => c.name === 'relay-link');
      expect(links).toHaveLength(1);
      // Without a command the agent image's entrypoint runs: node …/dist/main.js relay-link.
      expect(links[0]?.command).toEqual(command);
      expect(links[0]?.args).toEqual(['relay-link']);
    },
  );

  it.each([
    ['default', [GO_RELAY]],
    ['relay-node-values.yaml', undefined],
  ])('relay.implementation with %s values: the relay container runs %o', async (valueSet, command) => {
    const relays = (await containers(valueSet)).filter((c) => c.name === 'relay');
    expect(relays).toHaveLength(1);
    // Without a command the relay image's entrypoint runs: node …/packages/relay/dist/main.js.
    expect(relays[0]?.command).toEqual(command);
  });

  it('the Go relay the chart runs is the one the relay package builds (native/bin, shipped to /app)', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'packages/relay/package.json'), 'utf8')) as {
      nx: { targets: { 'build-native': { outputs: string[] }; build: { dependsOn: string[] } } };
    };
    expect(manifest.nx.targets['build-native'].outputs).toEqual(['{projectRoot}/native/bin']);
    expect(manifest.nx.targets.build.dependsOn).toContain('build-native');
  });

  it('the Go relay-link the chart runs is the one the agent package builds (native/bin, shipped to /app)', () => {
    const spawn = readFileSync(join(root, 'packages/agent/src/relay-link/implementation.ts'), 'utf8');
    expect(spawn).toContain("SHIPPED_RELAY_LINK = 'native/bin/wirekube-relay-link'");
    const manifest = JSON.parse(readFileSync(join(root, 'packages/agent/package.json'), 'utf8')) as {
      nx: { targets: { 'build-native': { outputs: string[] } } };
    };
    expect(manifest.nx.targets['build-native'].outputs).toEqual(['{projectRoot}/native/bin']);
  });
});
