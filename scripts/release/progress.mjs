// Progress lines on stderr (one per step, so a caller's log shows where a slow release is), the summary on stdout.
const started = Date.now();

/** @param {string} message */
export function progress(message) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`[release +${seconds}s] ${message}\n`);
}
