export * from './cycle.js';
export * from './dates.js';
export * from './due.js';
export * from './exceptions.js';
export * from './recipients.js';
export * from './renewal.js';
export * from './types.js';
export * from './plan.js';
