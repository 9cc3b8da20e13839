# Build with dev dependencies, run on a slim image with production dependencies only.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY bench ./bench
COPY test ./test
RUN npx tsc -p tsconfig.json

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /opt/flowprobe
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY config ./config
COPY probes ./probes
COPY schema ./schema
COPY README.md ./
# The image's own config (no demo, no secrets needed); mount yours over /etc/flowprobe.
COPY config/container /etc/flowprobe
RUN mkdir -p /var/lib/flowprobe && chown -R node:node /var/lib/flowprobe
USER node
VOLUME ["/var/lib/flowprobe"]
EXPOSE 9464
# Reads the port from the config the daemon runs with.
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "/opt/flowprobe/dist/src/main.js", "healthcheck", "--config", "/etc/flowprobe/flowprobe.yaml"]
# A 4 MB young generation, as the systemd unit runs it (docs/benchmarks.md).
ENTRYPOINT ["node", "--max-semi-space-size=4", "/opt/flowprobe/dist/src/main.js"]
CMD ["run", "--config", "/etc/flowprobe/flowprobe.yaml"]

# flowprobe:browser — the same image with Debian's chromium for browser probes and flows' browser
# steps (docker build --target browser -t flowprobe:browser .); the plain image stays without it.
FROM runtime AS browser
USER root
RUN apt-get update && apt-get install -y --no-install-recommends chromium fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
USER node

# The default target: the plain image.
FROM runtime
