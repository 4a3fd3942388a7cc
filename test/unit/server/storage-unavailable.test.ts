import { describe, expect, it } from 'vitest';
import { storageUnavailable } from '../../../src-server/http/errors.ts';

// Which storage errors a client is told to retry (503) and which stay our own fault (500): a bug
// must never hide behind "try again later".
const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('storageUnavailable', () => {
  it.each([
    ['PostgreSQL shut down by an administrator', withCode('57P01')],
    ['PostgreSQL crashed', withCode('57P02')],
    ['PostgreSQL still starting', withCode('57P03')],
    ['a connection exception', withCode('08006')],
    ['too many connections', withCode('53300')],
    ['PostgreSQL disk full', withCode('53100')],
    ['a refused socket', withCode('ECONNREFUSED')],
    ['a reset socket', withCode('ECONNRESET')],
    ['a refused socket on every address', new AggregateError([withCode('ECONNREFUSED')], 'connect')],
    ['a connection pg saw end', new Error('Connection terminated unexpectedly')],
    ['no connection within the timeout', new Error('timeout exceeded when trying to connect')],
    ['a SQLite disk full', withCode('SQLITE_FULL', 'database or disk is full')],
    ['a SQLite I/O error', withCode('SQLITE_IOERR_WRITE')],
    ['a wrapped cause', new Error('outer', { cause: withCode('57P01') })],
  ])('answers 503 for %s', (_name, error) => {
    expect(storageUnavailable(error)?.statusCode).toBe(503);
    expect(storageUnavailable(error)?.code).toBe('UNAVAILABLE');
  });

  it.each([
    ['a unique violation', withCode('23505')],
    ['a NOT NULL violation', withCode('23502')],
    ['a SQL syntax error', withCode('42601')],
    ['a SQLite constraint', withCode('SQLITE_CONSTRAINT_NOTNULL')],
    ['a plain bug', new TypeError('cannot read properties of undefined')],
    ['not an error at all', 'text'],
    ['null', null],
  ])('leaves %s alone (500)', (_name, error) => {
    expect(storageUnavailable(error)).toBeNull();
  });
});
