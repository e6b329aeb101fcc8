import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { errorMessage, httpStatus, KubeApiError } from '../src/index.js';

describe('errorMessage', () => {
  it.each([
    ['an Error', new Error('boom'), 'boom'],
    ['a system error without message', Object.assign(new Error(''), { code: 'ECONNRESET' }), 'ECONNRESET'],
    ['an object with a code', { code: 'ETIMEDOUT' }, 'ETIMEDOUT'],
    ['an object with a statusCode', { statusCode: 503 }, '503'],
    ['a plain object', { x: 1 }, '{"x":1}'],
    ['a string', 'plain', 'plain'],
    ['undefined', undefined, 'undefined'],
    [
      'an ApiException with a Status body',
      new ApiException(409, 'HTTP-Code: 409', '{"kind":"Status","message":"already exists"}', {}),
      'already exists',
    ],
  ])('%s', (_name, error, expected) => {
    expect(errorMessage(error)).toBe(expected);
  });
});

describe('KubeApiError', () => {
  it('names the operation and the status, and keeps the cause', () => {
    const cause = new ApiException(404, 'HTTP-Code: 404', { message: 'not found' }, {});
    const error = new KubeApiError('get node n1', httpStatus(cause), cause);
    expect(error.message).toBe('get node n1: HTTP 404: not found');
    expect(error.operation).toBe('get node n1');
    expect(error.status).toBe(404);
    expect(error.cause).toBe(cause);
    expect(httpStatus(error)).toBe(404);
    expect(httpStatus(new Error('x'))).toBeUndefined();
    expect(new KubeApiError('list', undefined, new Error('refused')).message).toBe('list: refused');
  });
});
