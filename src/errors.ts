import { UnrecoverableError } from 'bullmq';

/** Bad input (a file, a flag, an id): reported to the user as `error: …`, exit status 1. */
export class InputError extends Error {
  override name = 'InputError';
  /** One line per problem, each `where: what is wrong`. */
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[] = []) {
    super(message);
    this.problems = problems;
  }
}

/** A file that cannot be read, as one line: `FILE: no such file` or `FILE: cannot read: why`. An InputError passes as it is. */
export function fileReadError(file: string, error: unknown): InputError {
  if (error instanceof InputError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  return new InputError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read: ${(error as Error).message}`);
}

/** An operator action the rules refuse (R6, R9, R11, R14): the message names the rule and the dates. */
export class RefusedError extends Error {
  override name = 'RefusedError';
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What no retry can fix (bad address, missing template): the job fails at once, operators can retry
 * it. A bullmq UnrecoverableError, so BullMQ itself stops retrying; `cause` keeps the error it wraps.
 */
export class PermanentError extends UnrecoverableError {
  override name = 'PermanentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    if (options && 'cause' in options) this.cause = options.cause;
  }
}

/**
 * True when no retry follows `error`: ours (PermanentError) or any bullmq UnrecoverableError. Test
 * errors by class with this, never by `name` or message: a subclass keeps the answer.
 */
export function isPermanentError(error: unknown): error is UnrecoverableError {
  return error instanceof UnrecoverableError;
}

/** An id that names nothing (a subscription, an invoice, a job): an InputError the admin API answers with 404. */
export class NotFoundError extends InputError {
  override name = 'NotFoundError';
}
