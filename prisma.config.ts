import { defineConfig } from 'prisma/config';

// Prisma's CLI uses the bundled WebAssembly engines through a driver adapter, so it works
// offline. `prisma generate` and `prisma migrate diff` need no database at all.
// The schema's datasource reads DATABASE_URL; the embedded default needs no URL, so give the
// CLI a placeholder (it only matters for commands that connect, which go through the adapter).
process.env.DATABASE_URL ??= 'postgresql://postgres@127.0.0.1:5432/test';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () => {
    const url = process.env.DATABASE_URL;
    const { PrismaPg } = await import('@prisma/adapter-pg');
    return new PrismaPg({ connectionString: url });
  },
});
