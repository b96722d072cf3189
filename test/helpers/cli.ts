import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The package root: the CLI runs from there, as an operator's shell would. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** LIFECYCLE_DATA_DIR of the run: required, so that no test touches ./data. */
  dataDir: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Runs `lifecycle ARGS` as a child process from the sources (`node --import tsx src/cli/run.ts`),
 * so exit status, stdout and stderr are what an operator sees.
 */
export function runLifecycle(args: readonly string[], options: CliOptions): Promise<CliResult> {
  if (!options.dataDir) throw new Error('runLifecycle needs a dataDir (LIFECYCLE_DATA_DIR)');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        LIFECYCLE_TZ: 'UTC',
        ...options.env,
        LIFECYCLE_DATA_DIR: options.dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lifecycle ${args.join(' ')} did not finish in ${options.timeoutMs ?? 30_000} ms\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The lines of stderr that start with `error:` (SPEC §6). */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('error:'));
}
