/**
 * The one place that hides secrets from what people see: error lines, log lines, job failure
 * reasons, API answers. Two rules: the user-info of any URL (`scheme://user:pass@`) becomes
 * `***`, and every secret value the configuration holds (passwords, tokens, webhook secrets)
 * is replaced by `***` wherever it appears.
 */

export const redactedMark = '***';

/** Secret values known to this process (from the configuration, a private Redis's password). */
const knownSecrets = new Set<string>();

/** Shorter values are too likely to occur by chance in ordinary text to be replaced everywhere. */
const minSecretLength = 6;

/** Remembers secret values so that redact() hides them; URL-encoded forms are remembered too. */
export function rememberSecrets(values: readonly (string | null | undefined)[]): void {
  for (const value of values) {
    if (!value || value.length < minSecretLength) continue;
    knownSecrets.add(value);
    const encoded = encodeURIComponent(value);
    if (encoded !== value) knownSecrets.add(encoded);
  }
}

/** Forgets every remembered secret (tests). */
export function forgetSecrets(): void {
  knownSecrets.clear();
}

/**
 * The secrets a URL carries in its user-info: the password, and the user name when it is alone
 * (`redis://:pw@`, `https://token@`) unless `isUserSecret` is false: a database URL's user is a
 * role name (`postgres://postgres@host/db`), and hiding it would hide that word everywhere.
 */
export function secretsOfUrl(value: string | null | undefined, options: { isUserSecret?: boolean } = {}): string[] {
  if (!value) return [];
  try {
    const url = new URL(value);
    const user = url.password || options.isUserSecret === false ? '' : url.username;
    return [url.password, user].filter((part) => part.length > 0).flatMap((part) => [part, safeDecode(part)]);
  } catch {
    return [];
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

// `scheme://` then anything up to an `@` that comes before the host's end: the user-info.
const urlUserInfo = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;

/** Text with URL user-info and every remembered secret replaced by `***`. */
export function redact(text: string): string {
  let result = text.replace(urlUserInfo, `$1${redactedMark}@`);
  // Longest first: a secret that contains another is hidden whole.
  for (const secret of [...knownSecrets].sort((a, b) => b.length - a.length)) {
    if (result.includes(secret)) result = result.split(secret).join(redactedMark);
  }
  return result;
}

/** A URL for messages: its user-info hidden; a value that is not a URL loses everything up to its last `@`. */
export function redactUrl(value: string): string {
  const at = value.lastIndexOf('@');
  const cutToLastAt = () => redact(at < 0 ? value : `${redactedMark}${value.slice(at)}`);
  try {
    const url = new URL(value);
    if (url.username || url.password) {
      url.username = redactedMark;
      url.password = '';
      return redact(url.toString());
    }
    // `user:pass@host` parses as a URL of scheme `user:`, with no user-info: cut like a non-URL.
    return at < 0 ? redact(url.toString()) : cutToLastAt();
  } catch {
    return cutToLastAt();
  }
}

/**
 * Where an outbound request goes, for messages: scheme, host and path. User-info, query and
 * fragment are dropped, as a key may ride in any of them (`?api_key=…`).
 */
export function describeEndpoint(value: string): string {
  try {
    const url = new URL(value);
    return redact(`${url.protocol}//${url.host}${url.pathname}`);
  } catch {
    return redactUrl(value);
  }
}

/** An error's message (and stack) redacted in place, so whoever stores or shows it next sees no secret. */
export function redactError<T>(error: T): T {
  if (error instanceof Error) {
    try {
      error.message = redact(error.message);
      if (error.stack) error.stack = redact(error.stack);
    } catch {
      // A frozen or exotic error: left as it is, the display boundaries redact again.
    }
  }
  return error;
}

/** A JSON-like value with every string redacted (API answers, job data shown to operators). */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactValue(item)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactValue(item)])) as T;
  }
  return value;
}
