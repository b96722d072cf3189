import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start their own redis-server and SMTP server; give them room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Three files at a time even on two cores (vitest's default would be one): most integration
    // tests wait on child processes (daemons, CLIs, redis-server, PostgreSQL), not on the CPU.
    maxWorkers: 3,
  },
});
