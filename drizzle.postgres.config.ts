import { defineConfig } from 'drizzle-kit';

/** PostgreSQL migrations, from src/store/schema-pg.ts (the mirror of schema.ts). */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/schema-pg.ts',
  out: './drizzle/postgres',
});
