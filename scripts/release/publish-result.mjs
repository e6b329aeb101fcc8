// The one line each package's publish target prints for the release step to read back (nx interleaves task
// output with its own, so a marker finds it).
const MARKER = 'wirekube-release-result ';

/** @param {{ name: string, version: string, published: boolean }} result */
export const formatResult = (result) => `${MARKER}${JSON.stringify(result)}`;

/**
 * @param {string} output
 * @returns {{ name: string, version: string, published: boolean }[]}
 */
export function parseResults(output) {
  const results = [];
  for (const line of output.split('\n')) {
    const at = line.indexOf(MARKER);
    if (at >= 0) results.push(JSON.parse(line.slice(at + MARKER.length)));
  }
  return results;
}
