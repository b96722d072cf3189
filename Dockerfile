# The daemon's image: `docker compose build` (or `docker build -t membership-lifecycle .`) once;
# `docker compose up` then starts it without installing anything.
# Build stage: dependencies (dev ones too, for tsc), then dist/, then only what runs is kept.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary fits the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# `prepare` builds dist/, which needs the sources: install without scripts, then run the native
# modules' own (SQLite, msgpack), and build after the sources are copied.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 msgpackr-extract
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Run stage: no compiler, no sources, not root.
FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production \
    LIFECYCLE_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY drizzle ./drizzle
COPY templates ./templates
COPY public ./public
COPY examples ./examples
# The data dir belongs to `node`, owner-only: a named volume mounted there starts with this owner and mode.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
USER node
VOLUME ["/data"]
EXPOSE 8787
# No redis-server in the image: set REDIS_URL (docker-compose.yml runs one).
ENTRYPOINT ["node", "bin/lifecycle.js"]
CMD ["start"]
