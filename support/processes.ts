import type { ChildProcess } from 'node:child_process';

/**
 * Every process the support code (or a test) spawned, killed when this process ends however it
 * ends (a failed assertion, a timeout, a bench interrupted): nothing is left behind.
 */
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Registers a child process to be killed when this process exits. */
export function trackChild(child: ChildProcess): ChildProcess {
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return child;
}
