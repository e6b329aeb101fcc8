// Progress for the lab's command-line programs: a line when a step starts, one every few seconds while it
// runs, and one when it ends, so a slow step on a busy machine never looks like a hang.

export type WriteLine = (line: string) => void;

export interface Progress {
  /** Runs `work`, announcing it; rethrows its error after saying which step failed. */
  step<T>(what: string, work: () => Promise<T>): Promise<T>;
}

export function progress(write: WriteLine, heartbeatMs = 5_000): Progress {
  return {
    async step(what, work) {
      const began = performance.now();
      const seconds = () => ((performance.now() - began) / 1000).toFixed(1);
      write(`${what} …`);
      const ticker = setInterval(() => write(`… still ${what} (${seconds()} s)`), heartbeatMs);
      try {
        const result = await work();
        write(`${what}: done in ${seconds()} s`);
        return result;
      } catch (error) {
        write(`${what}: failed after ${seconds()} s`);
        throw error;
      } finally {
        clearInterval(ticker);
      }
    },
  };
}
