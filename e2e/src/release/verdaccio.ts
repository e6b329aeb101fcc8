// A throwaway npm registry for the release step: verdaccio on 127.0.0.1 with its storage in a temp directory.
// @wirekube/* lives only here (published anonymously, never proxied); everything else is read through from the
// registry npm is configured with, so a fresh `npm install @wirekube/crd-types --registry <url>` resolves the
// package's third-party dependencies too. Nothing is ever published upstream: verdaccio does not forward
// publishes to uplinks.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { LabError } from '../errors.js';
import { type LabProcess, signalGroup, spawnTracked } from '../exec/process.js';
import { onExit } from '../state/exit-hooks.js';
import { freeLoopbackPort, waitForHttp } from './loopback.js';

export interface VerdaccioOptions {
  /** Registry that non-@wirekube packages are read from; default `npm config get registry`; null: none. */
  upstream?: string | null;
  /** Scope served (and publishable) locally only. Default `@wirekube`. */
  scope?: string;
  timeoutMs?: number;
}

export interface Verdaccio {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly dir: string;
  readonly process: LabProcess;
  /** Stops the server and deletes its storage. */
  stop(): Promise<void>;
}

function defaultUpstream(): string {
  // Under npm (npx, npm test) the registry is in the environment already; elsewhere ask npm, from a directory
  // outside the workspace and without npm's workspace variables (`npm config` refuses workspaces).
  if (process.env.npm_config_registry) return process.env.npm_config_registry;
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_config_workspaces?$/i.test(key)),
  );
  try {
    return execFileSync('npm', ['config', 'get', 'registry'], {
      encoding: 'utf8',
      cwd: tmpdir(),
      env,
    }).trim();
  } catch (error) {
    throw new LabError(`verdaccio: reading npm's registry for the uplink: ${(error as Error).message}`);
  }
}

/** The config file's content: pure, so the access rules can be read (and tested) without a server. */
export function verdaccioConfig(dir: string, options: { upstream: string | null; scope: string }) {
  const local = { access: '$all', publish: '$all', unpublish: '$all' };
  return {
    storage: join(dir, 'storage'),
    auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: -1 } },
    uplinks: options.upstream ? { upstream: { url: options.upstream, timeout: '60s' } } : {},
    packages: {
      [`${options.scope}/*`]: local,
      '**': {
        access: '$all',
        publish: '$authenticated',
        ...(options.upstream ? { proxy: 'upstream' } : {}),
      },
    },
    web: { enable: false },
    log: { type: 'stdout', format: 'json', level: 'warn' },
    publish: { allow_offline: true },
  };
}

export async function startVerdaccio(options: VerdaccioOptions = {}): Promise<Verdaccio> {
  const dir = mkdtempSync(join(tmpdir(), 'wirekube-verdaccio-'));
  mkdirSync(join(dir, 'storage'));
  const config = join(dir, 'config.yaml');
  const upstream = options.upstream === undefined ? defaultUpstream() : options.upstream;
  writeFileSync(config, stringify(verdaccioConfig(dir, { upstream, scope: options.scope ?? '@wirekube' })));
  const bin = join(
    dirname(createRequire(import.meta.url).resolve('verdaccio/package.json')),
    'bin/verdaccio',
  );
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}/`;
  const server = spawnTracked([process.execPath, bin, '--config', config, '--listen', `127.0.0.1:${port}`]);
  // A test killed mid-run must not leave the server (its own process group) or its storage behind.
  const forget = onExit(() => {
    signalGroup(server.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const stop = async () => {
    await server.stop();
    forget();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp('verdaccio /-/ping', `${url}-/ping`, server, options.timeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, dir, process: server, stop };
}
