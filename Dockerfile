# Tollgate on Node 22. Sources run as TypeScript through bin/typescript.js (esbuild strips types
# as modules load), so there is no build stage beyond installing production dependencies.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080 \
    TOLLGATE_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY workers ./workers
COPY drizzle ./drizzle
COPY config ./config
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# SIGTERM drains open streams (server.drainTimeoutMs) before exiting.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/tollgate.js"]
CMD ["serve"]
