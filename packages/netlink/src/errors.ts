import { constants as osConstants } from 'node:os';

/** Context every kernel-surface error carries, so a log line says what failed, where and why. */
export interface ErrorContext {
  /** What we were doing, e.g. `route.replace`, `wireguard.set`, `iptables.restore`. */
  operation: string;
  /** Kernel errno (positive), when the kernel or a syscall answered with one. */
  errno?: number;
  /** Symbolic errno name (`EEXIST`, `ENODEV`, ...). */
  code?: string;
  /** Interface the operation acted on. */
  iface?: string;
  /** WireGuard peer (base64 public key) the operation acted on. */
  peer?: string;
  /** Anything else worth logging: the route, the rule, the sysctl path. */
  detail?: Record<string, unknown>;
}

/** Base class: every error this package throws is a NetKernelError with its context attached. */
export class NetKernelError extends Error {
  readonly operation: string;
  readonly errno: number | undefined;
  readonly code: string | undefined;
  readonly iface: string | undefined;
  readonly peer: string | undefined;
  readonly detail: Record<string, unknown> | undefined;

  constructor(message: string, context: ErrorContext, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.operation = context.operation;
    this.errno = context.errno;
    this.code = context.code;
    this.iface = context.iface;
    this.peer = context.peer;
    this.detail = context.detail;
  }
}

/** A netlink request (rtnetlink or generic netlink) that the kernel refused or that could not be sent. */
export class NetlinkError extends NetKernelError {}

/** The WireGuard UAPI socket (wireguard-go, boringtun) answered errno≠0 or could not be reached. */
export class UapiError extends NetKernelError {}

/** A desired state that must not be applied: bad key, bad CIDR, duplicate peer... Nothing was changed. */
export class ValidationError extends NetKernelError {
  readonly problems: string[];
  constructor(problems: string[], context: ErrorContext) {
    super(`invalid ${context.operation}: ${problems.join('; ')}`, context);
    this.problems = problems;
  }
}

/** iptables-save / iptables-restore failed. */
export class IptablesError extends NetKernelError {}

/** Reading or writing a /proc/sys entry failed. */
export class SysctlError extends NetKernelError {}

/** Starting, adopting or stopping a userspace WireGuard process failed. */
export class ProcessError extends NetKernelError {}

const errnoByName = osConstants.errno as Record<string, number>;

/** Errno name → number (`EEXIST` → 17), for libraries that only report the name. */
export function errnoFromCode(code: string): number | undefined {
  return errnoByName[code];
}

/** Errno number → name (17 → `EEXIST`). */
export function codeFromErrno(errno: number): string | undefined {
  for (const [name, value] of Object.entries(errnoByName)) if (value === errno) return name;
  return undefined;
}

/**
 * Turns whatever a transport threw into errno + code. The `netlink` package reports kernel refusals as
 * `Error("Request rejected: EEXIST")` and socket failures as ErrnoException with `errno`/`code` fields.
 */
export function errnoOf(error: unknown): { errno?: number; code?: string } {
  if (error instanceof NetKernelError) return { errno: error.errno, code: error.code };
  if (typeof error === 'object' && error !== null) {
    const e = error as { errno?: unknown; code?: unknown; message?: unknown };
    if (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) {
      const errno = typeof e.errno === 'number' ? Math.abs(e.errno) : errnoFromCode(e.code);
      return { errno, code: e.code };
    }
    if (typeof e.message === 'string') {
      const match = /Request rejected: (E[A-Z0-9]+|-?\d+)/.exec(e.message);
      if (match?.[1]) {
        const token = match[1];
        if (/^-?\d+$/.test(token)) {
          const errno = Math.abs(Number(token));
          return { errno, code: codeFromErrno(errno) };
        }
        return { errno: errnoFromCode(token), code: token };
      }
    }
  }
  return {};
}

/** Wraps a transport failure into a NetlinkError that names the operation and the kernel errno. */
export function toNetlinkError(error: unknown, context: Omit<ErrorContext, 'errno' | 'code'>): NetlinkError {
  if (error instanceof NetlinkError) return error;
  const { errno, code } = errnoOf(error);
  const reason = code ?? (error instanceof Error ? error.message : String(error));
  return new NetlinkError(
    `${context.operation} failed: ${reason}`,
    { ...context, errno, code },
    { cause: error },
  );
}
