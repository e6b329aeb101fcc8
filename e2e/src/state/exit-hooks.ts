/**
 * Synchronous cleanups to run when the process ends without the test's own `finally` (an uncaught error,
 * process.exit, SIGINT, SIGTERM). SIGKILL cannot be caught: the stale-run sweeper covers that case.
 */
const hooks = new Set<() => void>();
let installed = false;

function runAll() {
  for (const hook of [...hooks]) {
    hooks.delete(hook);
    try {
      hook();
    } catch {
      // Best effort: one failing cleanup must not stop the others.
    }
  }
}

function onSignal(signal: NodeJS.Signals) {
  runAll();
  // Only re-raise when nobody else (vitest, a CLI) handles the signal; then the default action ends us.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/**
 * Installs the process-level handlers without registering a cleanup yet. createLab calls it before it records
 * anything, so that a signal arriving between the run record and its cleanup is handled (run from the event
 * loop, after the cleanup is registered) instead of killing the process on the spot.
 */
export function installExitHooks(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, onSignal);
  }
}

/** Registers a cleanup; returns the function that unregisters it (call it after a normal teardown). */
export function onExit(hook: () => void): () => void {
  installExitHooks();
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
  };
}
