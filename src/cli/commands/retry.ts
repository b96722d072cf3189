import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { printJson } from '../context.js';
import { withQueues } from '../queue-client.js';

export function registerRetry(program: Command, context: CliContext): void {
  program
    .command('retry')
    .description('retry jobs that failed for good (lifecycle status lists them); the ledger keeps each effect once')
    .argument('[jobIds...]', 'ids of failed jobs, e.g. remind-before.S-1.2019-09-01')
    .option('--all-failed', 'retry every failed job')
    .option('--json', 'print one JSON document')
    .action(async (jobIds: string[], options: { allFailed?: boolean; json?: boolean }) => {
      if (jobIds.length === 0 && !options.allFailed) throw new InputError('name the failed jobs to retry, or pass --all-failed');
      const retried: string[] = [];
      const problems: string[] = [];
      await withQueues(context, async ({ actions }) => {
        const jobs = options.allFailed ? await actions.getFailed(0, -1) : await Promise.all(jobIds.map((id) => actions.getJob(id)));
        for (const [i, job] of jobs.entries()) {
          if (!job) {
            problems.push(`${jobIds[i]}: no such job`);
            continue;
          }
          if (!(await job.isFailed())) {
            problems.push(`${job.id}: not failed (it is ${await job.getState()})`);
            continue;
          }
          await job.retry('failed');
          retried.push(job.id!);
        }
      });
      if (problems.length > 0) throw new InputError(`${problems.length} job(s) not retried${retried.length ? `; retried ${retried.join(', ')}` : ''}`, problems);
      if (options.json) return printJson({ retried });
      process.stdout.write(retried.length ? `retried ${retried.length} job(s): ${retried.join(', ')}\n` : 'no failed jobs\n');
    });
}
