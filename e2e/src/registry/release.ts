// The lab's stand-in for the release step (scripts/release/run.mjs, issue 14's release half): the three program
// images and the chart, pushed to an OCI registry the way a release publishes them. Kept behind this one module
// so that the release script can replace it without touching the tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../exec/run.js';
import { toolPath } from '../tools.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'wirekube');
/** The registry path under which the images live: `<registry>/wirekube/<program>:<tag>`. */
export const IMAGE_PATH = 'wirekube';
export const PROGRAMS = ['agent', 'relay', 'controller'] as const;
export type Program = (typeof PROGRAMS)[number];

/** Helm keeps caches and registry config under $HOME: a throwaway one per caller keeps the user's untouched. */
export function helmEnv(home: string): NodeJS.ProcessEnv {
  return { ...process.env, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home };
}

export interface ReleaseOptions {
  /** `host:port` of the registry as the pushing side reaches it (the lab registry's rootAddress). */
  registry: string;
  /** Local (buildah store) image of each program. */
  images: Record<Program, string>;
  /** The tag the images get: the chart's appVersion, so a values file needs only the registry. */
  tag: string;
}

export interface Released {
  /** `oci://<registry>/charts/wirekube`. */
  chart: string;
  chartVersion: string;
  images: Record<Program, string>;
  seconds: number;
}

/** Pushes one local image to `<registry>/wirekube/<program>:<tag>` over plain HTTP. */
export async function pushLocalImage(
  local: string,
  registry: string,
  program: string,
  tag: string,
): Promise<string> {
  const remote = `${registry}/${IMAGE_PATH}/${program}:${tag}`;
  await run(['buildah', 'push', '--quiet', '--tls-verify=false', local, `docker://${remote}`], {
    timeoutMs: 10 * 60_000,
  });
  return remote;
}

/** `helm package` + `helm push oci://<registry>/charts --plain-http`; returns the chart reference and version. */
export async function pushChart(registry: string): Promise<{ chart: string; version: string }> {
  const work = mkdtempSync(join(tmpdir(), 'wirekube-chart-'));
  try {
    const env = helmEnv(join(work, 'home'));
    const { stdout } = await run([toolPath('helm'), 'package', CHART_DIR, '--destination', work], { env });
    const archive = /saved it to: (\S+\.tgz)/.exec(stdout)?.[1];
    if (!archive) throw new Error(`helm package: no archive in its output: ${stdout}`);
    const version = /wirekube-([^/]+)\.tgz$/.exec(archive)?.[1] ?? '';
    await run([toolPath('helm'), 'push', archive, `oci://${registry}/charts`, '--plain-http'], { env });
    return { chart: `oci://${registry}/charts/wirekube`, version };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Publishes the three images and the chart, as a release would. */
export async function releaseToRegistry(options: ReleaseOptions): Promise<Released> {
  const started = performance.now();
  const pushed = await Promise.all(
    PROGRAMS.map((program) =>
      pushLocalImage(options.images[program], options.registry, program, options.tag),
    ),
  );
  const { chart, version } = await pushChart(options.registry);
  return {
    chart,
    chartVersion: version,
    images: Object.fromEntries(PROGRAMS.map((program, i) => [program, pushed[i]!])) as Record<
      Program,
      string
    >,
    seconds: (performance.now() - started) / 1000,
  };
}
