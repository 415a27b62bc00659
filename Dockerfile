# Tollgate on Node 22. The build stage compiles the TypeScript sources to JavaScript
# (scripts/build.mjs: esbuild, one module per source file, assets copied beside them); the runtime
# image holds that output and the production dependencies only, and starts without a loader.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# esbuild is a production dependency (the loader uses it), so the build needs no dev install.
FROM deps AS build
COPY scripts ./scripts
COPY bin ./bin
COPY src ./src
COPY workers ./workers
COPY drizzle ./drizzle
COPY config ./config
RUN node scripts/build.mjs /build

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080 \
    TOLLGATE_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /build ./
# Runs as the image's unprivileged node user (uid 1000); the chart and compose file say so too.
RUN mkdir -p /data && chown node:node /data
USER 1000:1000
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# SIGTERM drains open streams (server.drainTimeoutMs) before exiting.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/tollgate.js"]
CMD ["serve"]
