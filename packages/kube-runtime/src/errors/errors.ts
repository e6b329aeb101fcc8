import { ApiException } from '@kubernetes/client-node';

/**
 * A readable message for anything thrown: Errors, client-node's ApiException (whose useful text is in the
 * response body), Node system errors without a message, and non-Error throws.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiException) return apiExceptionMessage(error);
  if (error instanceof Error) return error.message || (error as { code?: string }).code || error.name;
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; statusCode?: unknown; message?: unknown };
    return String(e.message ?? e.code ?? e.statusCode ?? JSON.stringify(error));
  }
  return String(error);
}

/** A failed API call, with what was attempted and the HTTP status when there was one. */
export class KubeApiError extends Error {
  readonly operation: string;
  readonly status?: number;

  constructor(operation: string, status: number | undefined, cause: unknown) {
    super(`${operation}: ${status ? `HTTP ${status}: ` : ''}${errorMessage(cause)}`, { cause });
    this.name = 'KubeApiError';
    this.operation = operation;
    if (status !== undefined) this.status = status;
  }
}

/** The HTTP status of a failed API call, when it got that far. */
export function httpStatus(error: unknown): number | undefined {
  if (error instanceof KubeApiError) return error.status;
  if (error instanceof ApiException) return error.code;
  return undefined;
}

function apiExceptionMessage(error: ApiException<unknown>): string {
  const body = error.body as { message?: string } | string | undefined;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return body?.message ?? error.message;
}
