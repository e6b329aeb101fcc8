/** Base class of every error the lab throws, so tests can tell lab trouble from product failures. */
export class LabError extends Error {
  override readonly name: string = 'LabError';
}

/** A lab specification that cannot be built: a bad host name, a LAN shared by different NAT kinds, ... */
export class LabSpecError extends LabError {
  override readonly name = 'LabSpecError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** A command that exited non-zero (or could not start). Carries everything needed to see why. */
export class LabCommandError extends LabError {
  override readonly name = 'LabCommandError';
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
    readonly netns?: string,
    readonly signal?: string | null,
  ) {
    const where = netns ? ` in ${netns}` : '';
    const how = code === null ? `signal ${signal ?? 'unknown'}` : `code ${code}`;
    super(`\`${argv.join(' ')}\`${where} failed with ${how}: ${(stderr || stdout).trim().slice(0, 2000)}`);
  }
}

/** Something the lab waited for did not happen in time (a socket, a server's readiness, a CRD). */
export class LabTimeoutError extends LabError {
  override readonly name = 'LabTimeoutError';
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
    readonly detail = '',
  ) {
    super(`${operation} did not complete within ${timeoutMs} ms${detail ? `: ${detail}` : ''}`);
  }
}
