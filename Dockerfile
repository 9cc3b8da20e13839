# Build with dev dependencies, run on a slim image with production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY bench ./bench
COPY test ./test
RUN npx tsc -p tsconfig.json

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/flowprobe
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY config ./config
COPY probes ./probes
COPY schema ./schema
# Config and probes are meant to be mounted over /etc/flowprobe; state goes to a volume.
RUN mkdir -p /etc/flowprobe /var/lib/flowprobe && cp -r config/flowprobe.yaml /etc/flowprobe/ \
 && sed -i 's#^listen: .*#listen: 0.0.0.0:9464#; s#^stateDir: .*#stateDir: /var/lib/flowprobe#; s#^probesDir: .*#probesDir: /etc/flowprobe/probes#' /etc/flowprobe/flowprobe.yaml \
 && cp -r probes /etc/flowprobe/probes && chown -R node:node /var/lib/flowprobe
USER node
VOLUME ["/var/lib/flowprobe"]
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:9464/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "/opt/flowprobe/dist/src/main.js"]
CMD ["run", "--config", "/etc/flowprobe/flowprobe.yaml"]
