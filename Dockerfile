# nextcloud-mcp in http mode (many users, bearer tokens); see README "Docker".
#
# Build stage: the full Debian image has python3, make and g++, which
# better-sqlite3 needs when no prebuilt binary can be downloaded.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dependencies first (their layer stays cached while only sources change);
# `prepare` cannot run before the sources are here, so install scripts are
# skipped and only the two native packages are built.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 esbuild
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

# Runtime stage: the same Debian release, slim, with production dependencies
# and dist/ only, as the unprivileged `node` user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    NC_MCP_DB=/data/nextcloud-mcp.db
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
# The SQLite database (grants, pending logins, audit log) lives here.
VOLUME ["/data"]
EXPOSE 8000
# Node itself asks /healthz (the slim image has no curl); change the port here too if you change --port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["http", "--host", "0.0.0.0", "--port", "8000"]
