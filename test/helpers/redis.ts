// One copy for tests and benches: support/redis.ts.
export { findFreePort, startTestRedis, trackChild, type TestRedis } from '../../support/redis.js';
