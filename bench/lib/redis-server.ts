// One copy for tests and benches: support/redis.ts.
export { findFreePort, readRedisVersion, startBenchRedis, type BenchRedis, type BenchRedisOptions } from '../../support/redis.js';
