/**
 * The public packages of the root workspace, in its order.
 * @param {string} root
 * @returns {{ dir: string, name: string, version: string }[]}
 */
export function publicPackages(root: string): {
  dir: string;
  name: string;
  version: string;
}[];
/**
 * nx.json for the staging workspace: the release block as configured, with the version actions resolved to an
 * absolute path and the publish plugin added. Pure.
 * @param {{ release?: { version?: { versionActions?: string } } & Record<string, unknown> } & Record<string, unknown>} nxJson
 *   the root's nx.json
 * @param {string} root
 */
export function stagingNxJson(
  nxJson: {
    release?: {
      version?: {
        versionActions?: string;
      };
    } & Record<string, unknown>;
  } & Record<string, unknown>,
  root: string,
): {
  neverConnectToCloud: boolean;
  analytics: boolean;
  useDaemonProcess: boolean;
  plugins: string[];
  release: {
    version?: {
      versionActions?: string;
    };
  } & Record<string, unknown>;
};
/**
 * @param {string} root
 * @returns {{ dir: string, packages: { dir: string, name: string, version: string }[], remove: () => void }}
 */
export function createStaging(root: string): {
  dir: string;
  packages: {
    dir: string;
    name: string;
    version: string;
  }[];
  remove: () => void;
};
