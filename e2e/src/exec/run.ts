import { spawn } from 'node:child_process';
import { LabCommandError } from '../errors.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  /** Resolve with the result instead of throwing when the command exits non-zero. */
  allowFail?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  cwd?: string;
  /** Kill the command (SIGKILL) after this long; default 60 s so a hung tool cannot hang a test run. */
  timeoutMs?: number;
  /** Only for error messages: the namespace the command runs in. */
  netns?: string;
}

/** Runs one command to completion and captures its output. The only place the lab starts short commands. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (!file) return Promise.reject(new TypeError('run: empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => {
      // The command may exit before reading its input; its exit status tells the story.
    });
    child.stdin.end(options.input ?? '');
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(new LabCommandError(argv, null, '', error.message, options.netns, null));
    });
    child.on('close', (code, signal) => {
      const result = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: code ?? 128,
      };
      if (code === 0 || options.allowFail) resolve(result);
      else reject(new LabCommandError(argv, code, result.stdout, result.stderr, options.netns, signal));
    });
  });
}
