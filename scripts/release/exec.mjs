// Runs the external tools of a release (buildah, helm, npx nx) and turns a failure into a ReleaseError that names
// the step and the command, with the end of its output: the part a reader needs to fix it.
import { spawn } from 'node:child_process';

export class ReleaseError extends Error {
  /**
   * @param {string} step e.g. `images`, `chart`, `npm`
   * @param {string} message
   * @param {{ command?: string, exitCode?: number | null, output?: string }} [context]
   */
  constructor(step, message, context = {}) {
    const tail = context.output ? `\n${context.output.trim().split('\n').slice(-30).join('\n')}` : '';
    super(`${step}: ${message}${tail}`);
    this.name = 'ReleaseError';
    this.step = step;
    this.command = context.command;
    this.exitCode = context.exitCode;
  }
}

/**
 * @param {string} step
 * @param {string} command
 * @param {readonly string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, echo?: boolean, allowFailure?: boolean }} [options]
 *   `echo` streams the tool's output to stderr as it comes (long builds); `allowFailure` returns a non-zero
 *   exit instead of throwing (existence checks).
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
export function run(step, command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (options.echo) process.stderr.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (options.echo) process.stderr.write(chunk);
    });
    const line = `${command} ${args.join(' ')}`;
    child.on('error', (error) =>
      reject(new ReleaseError(step, `${line}: ${error.message}`, { command: line })),
    );
    child.on('close', (code) => {
      if (code === 0 || options.allowFailure) {
        resolve({ code: code ?? 1, stdout, stderr });
      } else {
        reject(
          new ReleaseError(step, `${line} exited ${code}`, {
            command: line,
            exitCode: code,
            output: `${stdout}\n${stderr}`,
          }),
        );
      }
    });
  });
}
