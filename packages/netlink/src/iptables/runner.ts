import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { IptablesError } from '../errors.js';
import type { IptablesTable } from './model.js';

const execFileAsync = promisify(execFile);

/** The two commands the reconciler needs; tests substitute an in-memory fake. */
export interface IptablesRunner {
  save(table: IptablesTable): Promise<string>;
  /** Feeds `input` to `iptables-restore --noflush`. */
  restore(input: string): Promise<void>;
}

export interface CommandRunnerOptions {
  /** 4 → iptables-save/iptables-restore, 6 → ip6tables-*. Default 4. */
  family?: 4 | 6;
  /** Override the binaries (e.g. `iptables-legacy-save`). */
  saveCommand?: string;
  restoreCommand?: string;
}

/** Runs the real iptables-save / iptables-restore (waiting for the xtables lock). */
export function commandRunner(options: CommandRunnerOptions = {}): IptablesRunner {
  const prefix = options.family === 6 ? 'ip6tables' : 'iptables';
  const saveCommand = options.saveCommand ?? `${prefix}-save`;
  const restoreCommand = options.restoreCommand ?? `${prefix}-restore`;
  return {
    async save(table) {
      try {
        const { stdout } = await execFileAsync(saveCommand, ['-t', table], { maxBuffer: 64 * 1024 * 1024 });
        return stdout;
      } catch (error) {
        const e = error as NodeJS.ErrnoException & { stderr?: string };
        throw new IptablesError(`${saveCommand} -t ${table} failed: ${e.stderr?.trim() || e.message}`, {
          operation: 'iptables.save',
          code: typeof e.code === 'string' ? e.code : undefined,
          detail: { table },
        });
      }
    },
    restore(input) {
      return new Promise((resolve, reject) => {
        const child = spawn(restoreCommand, ['--noflush', '-w', '5'], { stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.on('error', (error: NodeJS.ErrnoException) =>
          reject(
            new IptablesError(`${restoreCommand} failed to start: ${error.message}`, {
              operation: 'iptables.restore',
              code: error.code,
            }),
          ),
        );
        child.on('close', (code) => {
          if (code === 0) resolve();
          else
            reject(
              new IptablesError(`${restoreCommand} exited ${code}: ${stderr.trim()}`, {
                operation: 'iptables.restore',
                detail: { input, exitCode: code },
              }),
            );
        });
        child.stdin.end(input);
      });
    },
  };
}
