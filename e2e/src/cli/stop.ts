// How the lab's command-line programs end: the first SIGINT/SIGTERM/SIGHUP (or the program itself, when it is
// done) runs the teardown to its end, then the process exits. Further signals (a terminal sends SIGINT to npm,
// sh and node alike, and npm forwards its own copy) are absorbed: a listener that stays registered keeps
// Node's default action (exit at once, mid-teardown) from ever running.

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface Stopper {
  /** Ends the program: teardown, then exit with `code` (1 if the teardown threw). Only the first call counts. */
  stop(code: number, reason: string): void;
  /** Whether the program is ending: work still under way should give up quietly. */
  readonly stopping: boolean;
}

/** Installs the signal handlers; a signal stops with code 0, since stopping is what the user asked for. */
export function onceStopped(teardown: (reason: string) => Promise<void>): Stopper {
  let stopping = false;
  const stop = (code: number, reason: string) => {
    if (stopping) return;
    stopping = true;
    teardown(reason).then(
      () => process.exit(code),
      (error: unknown) => {
        process.stderr.write(`teardown failed: ${error instanceof Error ? error.stack : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  for (const signal of SIGNALS) process.on(signal, () => stop(0, signal));
  return {
    stop,
    get stopping() {
      return stopping;
    },
  };
}
