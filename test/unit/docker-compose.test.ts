import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
}

const text = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
// `merge`: compose's `<<: *anchor` merge keys (YAML 1.1) share one definition between the daemons.
const compose = parse(text, { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');

describe('docker-compose.yml (no Docker engine here: its text is checked)', () => {
  it('requires ADMIN_TOKEN from the environment, with no default', () => {
    expect(compose.services['lifecycle-b']!.environment!.ADMIN_TOKEN).toBe(compose.services.lifecycle!.environment!.ADMIN_TOKEN);
    expect(compose.services.lifecycle!.environment!.ADMIN_TOKEN).toMatch(/^\$\{ADMIN_TOKEN:\?[^}]+\}$/);
  });

  it('publishes every port on 127.0.0.1 only', () => {
    const ports = Object.values(compose.services).flatMap((service) => service.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('pins every image to an exact version', () => {
    const images = [...Object.values(compose.services).map((service) => service.image), ...[...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])];
    // PostgreSQL's releases are MAJOR.MINOR (15.10); everything else here is MAJOR.MINOR.PATCH.
    for (const image of images) expect(image).toMatch(image!.startsWith('postgres:') ? /:\d+\.\d+(-[a-z0-9.-]+)?$/ : /:v?\d+\.\d+\.\d+(-[a-z0-9.-]+)?$/);
  });

  it('runs two daemons on one PostgreSQL and one Redis, each with its own data directory', () => {
    const daemons = Object.entries(compose.services).filter(([, service]) => service.image?.startsWith('membership-lifecycle:'));
    expect(daemons.map(([name]) => name)).toEqual(['lifecycle', 'lifecycle-b']);
    for (const [, daemon] of daemons) {
      expect(daemon.environment!.DATABASE_URL).toMatch(/^postgres:\/\/lifecycle:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432\/lifecycle$/);
      expect(daemon.environment!.REDIS_URL).toBe('redis://redis:6379');
    }
    const dataVolumes = daemons.map(([, daemon]) => daemon.volumes!.find((mount) => mount.endsWith(':/data')));
    expect(new Set(dataVolumes).size).toBe(2);
    expect(compose.services.postgres!.image).toMatch(/^postgres:15\./);
  });

  it('builds an image once instead of installing on every up, and writes nothing into the checkout', () => {
    const lifecycle = compose.services.lifecycle!;
    expect(lifecycle.build).toBe('.');
    expect(JSON.stringify(lifecycle.command ?? '')).not.toMatch(/npm/);
    const mounts = Object.values(compose.services).flatMap((service) => service.volumes ?? []);
    for (const mount of mounts) expect(Object.keys(compose.volumes)).toContain(mount.split(':')[0]);
    expect(dockerfile).toMatch(/^USER node$/m);
  });
});
