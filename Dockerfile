# Cordon worker + intake, and docker-compose.yml's jobs. Temporal and PostgreSQL come from docker-compose.yml.

# Build: every dependency (TypeScript among them), `npm run build` compiles the service into
# dist/ and prebuilds the workflow bundle there.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY scripts ./scripts
RUN npm run build

# Runtime: the production dependencies and the compiled code; no sources, no tsx, no compiler.
FROM node:20-bookworm-slim

# openssl: the compose file's credentials job makes the cluster's certificates with it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production \
    CORDON_HTTP_HOST=0.0.0.0 \
    CORDON_DATA_DIR=/var/lib/cordon \
    CORDON_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config

# A new named volume takes the owner of the directory it is mounted on: node (uid 1000, as in
# the Temporal images) writes both.
RUN mkdir -p /var/lib/cordon /credentials \
 && chown -R node:node /var/lib/cordon /credentials

USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# Source maps: stack traces in the logs name the TypeScript files and lines.
CMD ["node", "--enable-source-maps", "dist/src/main.js"]
