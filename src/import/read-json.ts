import { createReadStream } from 'node:fs';
import { fileReadError, InputError } from '../errors.js';
import { escapeControls, maxRecordBytes } from '../policy/limits.js';

export type Section = 'partners' | 'subscriptions';

export interface JsonRecord {
  /** The top-level key the value sits under. */
  key: string;
  /** Index in the key's array, or -1 when the key's value is not an array. */
  index: number;
  line: number;
  value: unknown;
}

/** A value's bytes as found by the splitter: parsed only when it is consumed. */
interface RecordSpan {
  key: string;
  index: number;
  line: number;
  bytes: Buffer;
  /** The chunk `bytes` lies in, when it lies in one (most do), and where: spans next to each other are parsed together. */
  chunk: Buffer | null;
  start: number;
  end: number;
}

const enum State {
  BeforeRoot,
  BeforeKey,
  InKey,
  BeforeColon,
  BeforeValue,
  BeforeElement,
  AfterElement,
  AfterValue,
  InValue,
  AfterRoot,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * Splits a top-level JSON object into its keys' array elements. Only element boundaries are
 * found here (strings, escapes, nesting); each element is parsed by `JSON.parse` on its own, so
 * a file of a million records is never held whole in memory. Elements are parsed one at a time
 * as they are consumed, not a chunk's worth at once: thousands of parsed records waiting in an
 * array survive young-generation GCs and made them the main cost of a large import.
 */
class JsonSplitter {
  private state = State.BeforeRoot as State;
  line = 1;
  private key = '';
  private keyParts: Buffer[] = [];
  /** Each top-level key read, with its line: a second "partners" would be merged, not refused. */
  private keyLines = new Map<string, number>();
  private keyLine = 0;
  private isAtStart = true;
  private isInArray = false;
  /** After a comma between top-level members: another key must follow, not "}". */
  private isKeyRequired = false;
  private index = 0;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private depth = 0;
  private isInString = false;
  private isEscaped = false;
  private isScalar = false;
  private startLine = 0;
  private chunk: Buffer = Buffer.alloc(0);
  private start = -1;
  /** Position of the next backslash in the chunk at or after a string's current byte; -1: none left. */
  private nextBackslash = -1;
  private out: RecordSpan[] = [];
  /** A structural error found in the chunk, thrown once the records before it are consumed. */
  failure: InputError | null = null;

  constructor(private readonly file: string) {}

  private fail(what: string): never {
    throw new InputError(`${this.file}:${this.line}: malformed JSON: ${what}`);
  }

  push(chunk: Buffer): RecordSpan[] {
    if (this.isAtStart) {
      // A byte-order mark (some Windows editors write one) is not part of the document.
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      this.isAtStart = false;
    }
    this.chunk = chunk;
    this.out = [];
    this.nextBackslash = chunk.indexOf(BACKSLASH);
    this.start = this.state === State.InValue || this.state === State.InKey ? 0 : -1;
    try {
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i]!;
        if (byte === NEWLINE) this.line++;
        if (this.state === State.InValue) {
          i = this.scanValue(i, byte);
          continue;
        }
        if (this.state === State.InKey) {
          this.scanKey(i, byte);
          continue;
        }
        if (!isSpace(byte)) this.step(i, byte);
      }
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      this.failure = error;
      return this.out;
    }
    if (this.state === State.InValue || this.state === State.InKey) {
      const part = chunk.subarray(this.start);
      (this.state === State.InValue ? this.parts : this.keyParts).push(part);
      this.partsBytes += part.length;
      if (this.partsBytes > maxRecordBytes) this.failure = this.describeTooLong();
    }
    return this.out;
  }

  end(): void {
    if (this.state === State.BeforeRoot) this.fail('the file is empty');
    if (this.state !== State.AfterRoot) this.fail('unexpected end of file');
  }

  /** Returns the index to continue from (one less when a scalar's terminator must be read again). */
  private scanValue(i: number, byte: number): number {
    if (this.isInString) {
      if (this.isEscaped) this.isEscaped = false;
      else if (byte === BACKSLASH) this.isEscaped = true;
      else if (byte === QUOTE) {
        this.isInString = false;
        if (this.isScalar) this.finishValue(i + 1);
      } else return this.skipStringBody(i);
      return i;
    }
    if (this.isScalar) {
      if (byte === COMMA || byte === CLOSE_BRACE || byte === CLOSE_BRACKET || isSpace(byte)) {
        this.finishValue(i);
        if (byte === NEWLINE) this.line--;
        return i - 1;
      }
      return i;
    }
    if (byte === QUOTE) this.isInString = true;
    else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth++;
    else if ((byte === CLOSE_BRACE || byte === CLOSE_BRACKET) && --this.depth === 0) this.finishValue(i + 1);
    return i;
  }

  /**
   * Inside a string only a quote or a backslash matters: jump to the byte before the next one
   * (native memchr instead of a JS loop over most of the file). Valid JSON has no raw newline in
   * a string, so no line is skipped uncounted.
   */
  private skipStringBody(i: number): number {
    const { chunk } = this;
    if (this.nextBackslash !== -1 && this.nextBackslash <= i) this.nextBackslash = chunk.indexOf(BACKSLASH, i + 1);
    let next = chunk.indexOf(QUOTE, i + 1);
    if (next === -1) next = chunk.length;
    if (this.nextBackslash !== -1 && this.nextBackslash < next) next = this.nextBackslash;
    return next - 1;
  }

  private scanKey(i: number, byte: number): void {
    if (this.isEscaped) this.isEscaped = false;
    else if (byte === BACKSLASH) this.isEscaped = true;
    else if (byte === QUOTE) {
      this.keyParts.push(this.chunk.subarray(this.start, i));
      this.key = JSON.parse(`"${Buffer.concat(this.keyParts).toString('utf8')}"`) as string;
      this.keyParts = [];
      const first = this.keyLines.get(this.key);
      if (first !== undefined) {
        const name = escapeControls(this.key.slice(0, 40));
        throw new InputError(`${this.file}:${this.keyLine}: "${name}" appears twice (first on line ${first}); a file has one of each top-level key`);
      }
      this.keyLines.set(this.key, this.keyLine);
      this.state = State.BeforeColon;
    }
  }

  private step(i: number, byte: number): void {
    switch (this.state) {
      case State.BeforeRoot:
        if (byte !== OPEN_BRACE) this.fail('the file must be an object with "partners" and "subscriptions" arrays');
        this.state = State.BeforeKey;
        return;
      case State.BeforeKey:
        if (byte === CLOSE_BRACE && !this.isKeyRequired) this.state = State.AfterRoot;
        else if (byte === QUOTE) {
          this.state = State.InKey;
          this.keyLine = this.line;
          this.partsBytes = 0;
          this.start = i + 1;
          this.isEscaped = false;
        } else this.fail(`expected a key, found "${String.fromCharCode(byte)}"`);
        return;
      case State.BeforeColon:
        if (byte !== 0x3a) this.fail(`expected ":" after "${this.key}"`);
        this.state = State.BeforeValue;
        return;
      case State.BeforeValue:
        if (byte === OPEN_BRACKET) {
          this.isInArray = true;
          this.index = 0;
          this.state = State.BeforeElement;
        } else {
          this.isInArray = false;
          this.startValue(i, byte);
        }
        return;
      case State.BeforeElement:
        if (byte === CLOSE_BRACKET && this.index === 0) this.state = State.AfterValue;
        else this.startValue(i, byte);
        return;
      case State.AfterElement:
        if (byte === COMMA) this.state = State.BeforeElement;
        else if (byte === CLOSE_BRACKET) this.state = State.AfterValue;
        else this.fail(`expected "," or "]" after ${this.key}[${this.index - 1}]`);
        return;
      case State.AfterValue:
        if (byte === COMMA) {
          this.state = State.BeforeKey;
          this.isKeyRequired = true;
        } else if (byte === CLOSE_BRACE) this.state = State.AfterRoot;
        else this.fail(`expected "," or "}" after the value of "${this.key}"`);
        return;
      case State.AfterRoot:
        this.fail('unexpected content after the end of the top-level object');
    }
  }

  private startValue(i: number, byte: number): void {
    if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE || byte === COMMA) {
      this.fail(`expected a value in "${this.key}", found "${String.fromCharCode(byte)}"`);
    }
    this.state = State.InValue;
    this.start = i;
    this.startLine = this.line;
    this.parts = [];
    this.partsBytes = 0;
    this.isInString = byte === QUOTE;
    this.isEscaped = false;
    this.isScalar = byte !== OPEN_BRACE && byte !== OPEN_BRACKET;
    this.depth = this.isScalar ? 0 : 1;
  }

  /** A value or key past `maxRecordBytes`: refused as it is read, never joined into one string. */
  private describeTooLong(): InputError {
    const where = this.state === State.InKey ? 'a key' : this.isInArray ? `${this.key}[${this.index}]` : `"${this.key}"`;
    const line = this.state === State.InKey ? this.keyLine : this.startLine;
    return new InputError(`${this.file}:${line}: ${where} is longer than ${maxRecordBytes / 2 ** 20} MiB; no valid record comes near`);
  }

  private finishValue(end: number): void {
    const head = this.chunk.subarray(this.start, end);
    if (this.partsBytes + head.length > maxRecordBytes) throw this.describeTooLong();
    const isInChunk = this.parts.length === 0;
    const bytes = isInChunk ? head : Buffer.concat([...this.parts, head]);
    this.parts = [];
    this.out.push({ key: this.key, index: this.isInArray ? this.index : -1, line: this.startLine, bytes, chunk: isInChunk ? this.chunk : null, start: this.start, end });
    if (this.isInArray) {
      this.index++;
      this.state = State.AfterElement;
    } else this.state = State.AfterValue;
  }
}

function parseRecord(file: string, { key, index, line, bytes }: RecordSpan): JsonRecord {
  try {
    return { key, index, line, value: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch (error) {
    const where = index >= 0 ? `${key}[${index}]` : `"${key}"`;
    throw new InputError(`${file}:${line}: malformed JSON in ${where}: ${(error as Error).message}`);
  }
}

/**
 * Records parsed by one `JSON.parse`: a call and a string per record cost more than the parsing
 * itself (a quarter of it), and a few dozen records at once still die young.
 */
const parseGroupSize = 32;

/** Consecutive elements of one array within one chunk: only a comma and spaces (checked by the splitter) lie between them. */
function isNextInChunk(a: RecordSpan, b: RecordSpan): boolean {
  return a.chunk !== null && a.chunk === b.chunk && a.index >= 0 && b.index === a.index + 1 && a.key === b.key;
}

/**
 * The group's values, parsed as one array from the chunk's bytes; undefined when that fails:
 * each record is then parsed on its own, and the first malformed one is reported as before.
 */
function parseGroup(spans: readonly RecordSpan[], start: number, end: number): unknown[] | undefined {
  const first = spans[start]!;
  try {
    const values = JSON.parse(`[${first.chunk!.toString('utf8', first.start, spans[end - 1]!.end)}]`) as unknown[];
    return values.length === end - start ? values : undefined;
  } catch {
    return undefined;
  }
}

function* parseSpans(file: string, spans: readonly RecordSpan[]): Generator<JsonRecord> {
  for (let start = 0; start < spans.length; ) {
    let end = start + 1;
    while (end < spans.length && end - start < parseGroupSize && isNextInChunk(spans[end - 1]!, spans[end]!)) end++;
    const values = end - start > 1 ? parseGroup(spans, start, end) : undefined;
    for (let i = start; i < end; i++) {
      const { key, index, line } = spans[i]!;
      yield values ? { key, index, line, value: values[i - start] } : parseRecord(file, spans[i]!);
    }
    start = end;
  }
}

/**
 * The records of a JSON import file, one group per chunk read (about 1 MiB): iterate each group
 * before asking for the next. A group parses its records one at a time as they are consumed,
 * and a million records cost a million cheap synchronous steps, not a million promises.
 */
export async function* readJsonRecordGroups(file: string): AsyncGenerator<Iterable<JsonRecord>> {
  const splitter = new JsonSplitter(file);
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      yield parseSpans(file, splitter.push(chunk));
      if (splitter.failure) throw splitter.failure;
    }
  } catch (error) {
    throw fileReadError(file, error);
  }
  splitter.end();
}
