# Cordon worker + intake, and docker-compose.yml's jobs. Temporal and PostgreSQL come from docker-compose.yml.
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
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY scripts ./scripts
COPY bin ./bin
COPY config ./config
COPY tsconfig.json ./

# Prebuild the workflow bundle so start-up does not run webpack. A new named volume takes the
# owner of the directory it is mounted on: node (uid 1000, as in the Temporal images) writes both.
RUN mkdir -p dist /var/lib/cordon /credentials \
 && node -r tsx/cjs scripts/bundle-workflows.ts "$CORDON_WORKFLOW_BUNDLE" \
 && chown -R node:node /var/lib/cordon /credentials

USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "-r", "tsx/cjs", "src/main.ts"]
