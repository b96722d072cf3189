/** Settles like `promise`, or rejects with `no answer within … ms` (prefixed by `what`) once `ms` passed. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what = ''): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what ? `${what}: ` : ''}no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined); // a late rejection after the deadline is not unhandled
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
