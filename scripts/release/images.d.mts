/**
 * Which local image goes where. Pure.
 * @param {{ registry: string, programs: readonly string[], versions: Record<string, string>, version?: string, sourceTag?: string }} input
 *   `versions`: each program's package.json version
 * @returns {{ program: string, source: string, sourceTag: string, target: string }[]}
 */
export function planImages({
  registry,
  programs,
  versions,
  version,
  sourceTag,
}: {
  registry: string;
  programs: readonly string[];
  versions: Record<string, string>;
  version?: string;
  sourceTag?: string;
}): {
  program: string;
  source: string;
  sourceTag: string;
  target: string;
}[];
/**
 * @param {string} root
 * @returns {Record<string, string>}
 */
export function programVersions(root: string): Record<string, string>;
/**
 * @param {{ root: string, registry: string, programs: readonly string[], plainHttp: boolean, version?: string, sourceTag?: string, build: boolean }} options
 * @returns {Promise<{ program: string, image: string, digest: string }[]>}
 */
export function pushImages(options: {
  root: string;
  registry: string;
  programs: readonly string[];
  plainHttp: boolean;
  version?: string;
  sourceTag?: string;
  build: boolean;
}): Promise<
  {
    program: string;
    image: string;
    digest: string;
  }[]
>;
