import { ConfigError, loadConfig } from '../../src/config.js';

/** The data dir the config unit tests name: loadConfig needs one; nothing is written there. */
const configDataDir = '/tmp/lifecycle-config';

/** An operator's environment: the data dir, and the variables a test sets. */
export function buildEnv(variables: Record<string, string> = {}): Record<string, string> {
  return { LIFECYCLE_DATA_DIR: configDataDir, ...variables };
}

/** What loadConfig finds wrong with `buildEnv(variables)`: [] when it accepts it. */
export function readProblems(variables: Record<string, string>): readonly string[] {
  try {
    loadConfig(buildEnv(variables));
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}
