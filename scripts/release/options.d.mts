/**
 * @typedef {{
 *   help: boolean,
 *   steps: ('npm'|'images'|'chart')[],
 *   ociRegistry?: string,
 *   npmRegistry?: string,
 *   plainHttp: boolean,
 *   version?: string,
 *   sourceTag?: string,
 *   build: boolean,
 *   programs: ('agent'|'controller'|'relay')[],
 *   bump?: string,
 *   npmToken?: string,
 *   projects?: string[],
 * }} ReleaseOptions
 */
/**
 * @param {readonly string[]} argv arguments after the script name
 * @returns {ReleaseOptions}
 */
export function parseOptions(argv: readonly string[]): ReleaseOptions;
export const STEPS: readonly ['npm', 'images', 'chart'];
export const PROGRAMS: readonly ['agent', 'controller', 'relay'];
export const USAGE: "Usage: node scripts/release/run.mjs [options]      (or: npm run release -- [options])\n\nPublishes WireKube to local registries: the npm packages with `nx release` (independent versions), the three\nimages from the local buildah store (images/build.sh) and the Helm chart as an OCI artifact.\n\n  --oci-registry <host:port>  OCI registry for images and chart (needed by --only images,chart)\n  --plain-http                talk plain HTTP to the OCI registry (buildah --tls-verify=false, helm --plain-http)\n  --npm-registry <url>        npm registry to publish to, e.g. http://127.0.0.1:4873 (needed by --only npm)\n  --only <steps>              comma list of npm,images,chart (default: every step whose registry is given)\n  --version <semver>          tag of the pushed images and version of the chart (default: each package's\n                              version for its image, Chart.yaml's version for the chart)\n  --source-tag <tag>          local image tag to push (default: the package's version, as images/build.sh tags)\n  --programs <names>          images: only these of agent,controller,relay (default: all three)\n  --build                     run images/build.sh first even when the local images exist\n  --bump <specifier>          npm: bump before publishing (patch, minor, major, prerelease or an exact semver);\n                              default: publish the versions in the package.json files\n  --npm-token <token>         npm: token for --npm-registry (default: a placeholder, enough where anonymous\n                              publish is allowed, as in the lab's verdaccio; or set WIREKUBE_NPM_TOKEN)\n  --projects <names>          npm: only these packages (comma list, e.g. @wirekube/controller); with --bump,\n                              packages that depend on them are bumped too (nx release, independent mode)\n  --help                      this text\n\nImages go to <oci-registry>/wirekube/{agent,controller,relay}:<version>, the chart to\noci://<oci-registry>/charts/wirekube. The last line on stdout is a JSON summary of what was published.";
export class UsageError extends Error {
  /** @param {string} message */
  constructor(message: string);
}
export type ReleaseOptions = {
  help: boolean;
  steps: ('npm' | 'images' | 'chart')[];
  ociRegistry?: string;
  npmRegistry?: string;
  plainHttp: boolean;
  version?: string;
  sourceTag?: string;
  build: boolean;
  programs: ('agent' | 'controller' | 'relay')[];
  bump?: string;
  npmToken?: string;
  projects?: string[];
};
