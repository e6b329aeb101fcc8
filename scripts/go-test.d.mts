// Generated from go-test.mjs's JSDoc (tsc --declaration --emitDeclarationOnly) for the TypeScript tests that import it.
/**
 * Counts `go test -json` events. Pure.
 * @param {string} output
 * @returns {{ passed: number, failed: number, skipped: number, failedTests: string[], failedPackages: string[] }}
 */
export function countGoTests(output: string): {
  passed: number;
  failed: number;
  skipped: number;
  failedTests: string[];
  failedPackages: string[];
};
/**
 * Runs vet and the tests of each module, printing what failed.
 * @param {string} root
 * @param {NodeJS.ProcessEnv} env
 * @returns {{ passed: number, failed: number, skipped: number }}
 */
export function runGoTests(
  root: string,
  env: NodeJS.ProcessEnv,
): {
  passed: number;
  failed: number;
  skipped: number;
};
/** The Go modules the test command runs, relative to the repository root. */
export const GO_MODULES: string[];
