// Issue 11.8 / 13.6: the three images build for real, from a clean clone of this commit, with buildah, and each
// program answers --help with exit 0 under podman. Fails (never skips) when buildah or podman is missing: they are
// provisioned by e2e/setup.sh.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/exec/run.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'wirekube-images-'));
const clone = join(work, 'clone');
// Test-only names, so cleanup removes exactly what this run built.
const registry = 'localhost/wirekube-test';
const tag = `run-${process.pid}`;
// podman on these hosts: runc (crun fails on the hybrid cgroups), cgroupfs, and rlimits it may set here.
const containersConf = join(work, 'containers.conf');
const podmanEnv = { ...process.env, CONTAINERS_CONF: containersConf };
const podman = ['podman', '--runtime', 'runc', '--cgroup-manager=cgroupfs'];

interface Built {
  program: string;
  image: string;
  bytes: number;
  seconds: number;
}
const built = new Map<string, Built>();

async function has(tool: string): Promise<boolean> {
  return (await run(['sh', '-c', `command -v ${tool}`], { allowFail: true })).code === 0;
}

async function build(program: string): Promise<Built> {
  const started = Date.now();
  const { stdout } = await run(['bash', 'images/build.sh', program], {
    cwd: clone,
    env: { ...process.env, REGISTRY: registry, TAG: tag },
    timeoutMs: 15 * 60_000,
  });
  const [name, image, bytes] = stdout.trim().split('\n').at(-1)?.split('\t') ?? [];
  expect(name).toBe(program);
  const result = {
    program,
    image: image ?? '',
    bytes: Number(bytes),
    seconds: (Date.now() - started) / 1000,
  };
  built.set(program, result);
  return result;
}

/** A shell command in a container of the image, without network; its stdout. */
async function shellIn(image: string, command: string): Promise<string> {
  const { stdout } = await run(
    [...podman, 'run', '--rm', '--network', 'none', '--entrypoint', 'sh', image, '-c', command],
    { env: podmanEnv },
  );
  return stdout;
}

async function help(image: string): Promise<{ code: number; stdout: string }> {
  return run([...podman, 'run', '--rm', '--network', 'none', image, '--help'], {
    env: podmanEnv,
    allowFail: true,
    timeoutMs: 120_000,
  });
}

describe('images (buildah from a clean clone, --help under podman)', () => {
  beforeAll(async () => {
    writeFileSync(
      containersConf,
      '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n',
    );
    const head = (await run(['git', '-C', repo, 'rev-parse', 'HEAD'])).stdout.trim();
    await run(['git', 'clone', '--quiet', '--no-checkout', repo, clone], { timeoutMs: 120_000 });
    await run(['git', '-C', clone, 'checkout', '--quiet', head]);
  });

  afterAll(async () => {
    for (const { image } of built.values()) {
      await run([...podman, 'rmi', '--force', image], { env: podmanEnv, allowFail: true });
    }
    rmSync(work, { recursive: true, force: true });
    if (built.size > 0) {
      const lines = [...built.values()].map(
        (b) => `${b.program}: ${(b.bytes / 1e6).toFixed(0)} MB, built in ${b.seconds.toFixed(0)} s`,
      );
      console.log(`[images] ${lines.join('; ')}`);
    }
  });

  it('buildah and podman are installed (e2e/setup.sh provisions them)', async () => {
    expect(await has('buildah'), 'buildah missing: run npm run lab:setup').toBe(true);
    expect(await has('podman'), 'podman missing: run npm run lab:setup').toBe(true);
    expect(await has('debootstrap'), 'debootstrap missing: run npm run lab:setup').toBe(true);
  });

  it.each(['relay', 'agent'])(
    'the %s image builds and its program prints --help, exit 0',
    async (program) => {
      const { image, bytes } = await build(program);
      expect(bytes).toBeGreaterThan(0);
      const { code, stdout } = await help(image);
      expect(stdout).toContain(`wirekube-${program}`);
      expect(code).toBe(0);
    },
    20 * 60_000,
  );

  it('the agent image carries wireguard-go, ip and iptables, and runs as root', async () => {
    const image = built.get('agent')?.image;
    expect(image, 'the agent image was not built').toBeTruthy();
    const stdout = await shellIn(
      image ?? '',
      'for t in wireguard-go ip iptables node; do command -v $t; done; id -u',
    );
    expect(stdout.trim().split('\n')).toHaveLength(5);
    expect(stdout.trim().split('\n').at(-1)).toBe('0');
  });

  it.each([
    ['agent', 'wirekube-relay-link'],
    ['relay', 'wirekube-relay'],
  ])(
    'the %s image carries its Go %s where the chart (and spawn mode) look for it: static, --help exit 0',
    async (program, name) => {
      const image = built.get(program)?.image;
      expect(image, `the ${program} image was not built`).toBeTruthy();
      const binary = `/app/packages/${program}/native/bin/${name}`;
      const helpRun = await run(
        [...podman, 'run', '--rm', '--network', 'none', '--entrypoint', binary, image ?? '', '--help'],
        { env: podmanEnv, allowFail: true },
      );
      expect(helpRun.stdout + helpRun.stderr).toContain(name);
      expect(helpRun.code).toBe(0);
      const stdout = await shellIn(image ?? '', `ldd ${binary} 2>&1; true`);
      expect(stdout).toContain('not a dynamic executable');
    },
  );

  it('the relay image runs as a non-root user and carries its OCI version label', async () => {
    const image = built.get('relay')?.image ?? '';
    const { stdout } = await run(
      [
        ...podman,
        'image',
        'inspect',
        '--format',
        '{{.Config.User}} {{index .Labels "org.opencontainers.image.version"}}',
        image,
      ],
      { env: podmanEnv },
    );
    expect(stdout.trim()).toBe('1000:1000 0.1.0');
  });

  const controllerExists = existsSync(join(repo, 'packages', 'controller', 'src', 'main.ts'));
  it.skipIf(!controllerExists)(
    'the controller image builds and prints --help, exit 0 (once packages/controller/src/main.ts exists)',
    async () => {
      const { image } = await build('controller');
      const { code, stdout } = await help(image);
      expect(stdout).toContain('wirekube-controller');
      expect(code).toBe(0);
    },
    20 * 60_000,
  );
});
