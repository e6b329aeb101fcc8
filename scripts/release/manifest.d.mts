/**
 * Problems that would make a published package broken or not installable, each naming its field.
 * `exists(path)` answers for paths relative to the package directory (exports targets must be built).
 * @param {Record<string, unknown> & { publishConfig?: { access?: unknown, registry?: unknown } }} json
 * @param {(path: string) => boolean} exists
 * @returns {string[]}
 */
export function manifestProblems(
  json: Record<string, unknown> & {
    publishConfig?: {
      access?: unknown;
      registry?: unknown;
    };
  },
  exists: (path: string) => boolean,
): string[];
