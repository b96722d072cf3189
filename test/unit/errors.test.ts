import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { fileReadError, InputError, isPermanentError, NotFoundError, PermanentError, RefusedError } from '../../src/errors.js';

describe('error classes', () => {
  const cases: { name: string; error: Error; classes: (abstract new (...args: never[]) => Error)[]; isPermanent: boolean }[] = [
    { name: 'PermanentError', error: new PermanentError('bad address'), classes: [PermanentError, UnrecoverableError, Error], isPermanent: true },
    { name: 'UnrecoverableError', error: new UnrecoverableError('no retry'), classes: [UnrecoverableError, Error], isPermanent: true },
    { name: 'InputError', error: new InputError('bad file'), classes: [InputError, Error], isPermanent: false },
    { name: 'NotFoundError', error: new NotFoundError('no subscription "S-9"'), classes: [NotFoundError, InputError, Error], isPermanent: false },
    { name: 'RefusedError', error: new RefusedError('R6', 'not yet eligible'), classes: [RefusedError, Error], isPermanent: false },
    { name: 'Error', error: new Error('ECONNRESET'), classes: [Error], isPermanent: false },
  ];
  it.each(cases)('$name: instanceof its classes, named, classified by isPermanentError', ({ name, error, classes, isPermanent }) => {
    for (const type of classes) expect(error).toBeInstanceOf(type);
    expect(error.name).toBe(name);
    expect(isPermanentError(error)).toBe(isPermanent);
    expect(error.stack).toContain(name);
  });

  it('classifies by class, not by name: a renamed PermanentError is still permanent, a plain Error named like one is not', () => {
    const renamed = new PermanentError('x');
    renamed.name = 'Something';
    const impostor = Object.assign(new Error('x'), { name: 'PermanentError' });
    expect(isPermanentError(renamed)).toBe(true);
    expect(isPermanentError(impostor)).toBe(false);
    expect(isPermanentError('PermanentError')).toBe(false);
    expect(isPermanentError(undefined)).toBe(false);
  });

  it('PermanentError keeps the error it wraps, and has no cause when given none', () => {
    const cause = new Error('550 mailbox unavailable');
    expect(new PermanentError('SMTP refused', { cause }).cause).toBe(cause);
    expect('cause' in new PermanentError('no cause')).toBe(false);
  });

  it('RefusedError carries its rule; InputError its problems', () => {
    expect(new RefusedError('R11', 'cancelled').rule).toBe('R11');
    expect(new InputError('bad file', ['a.csv:2: no id']).problems).toEqual(['a.csv:2: no id']);
    expect(new InputError('bad file').problems).toEqual([]);
  });

  it.each([
    { error: Object.assign(new Error('nope'), { code: 'ENOENT' }), message: 'x.csv: no such file' },
    { error: Object.assign(new Error('permission denied'), { code: 'EACCES' }), message: 'x.csv: cannot read: permission denied' },
  ])('fileReadError: $message', ({ error, message }) => {
    const read = fileReadError('x.csv', error);
    expect(read).toBeInstanceOf(InputError);
    expect(read.message).toBe(message);
  });

  it('fileReadError passes an InputError as it is', () => {
    const input = new InputError('x.csv:3: bad date');
    expect(fileReadError('x.csv', input)).toBe(input);
  });
});
