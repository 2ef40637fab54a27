# Hub image: connectors, pipeline and FHIR API. Kafka and MongoDB run outside (see docker-compose.yml).
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends g++ make python3 libssl-dev zlib1g-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 zlib1g ca-certificates tini \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production HUB_API_HOST=0.0.0.0
COPY --from=build /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY app ./app
COPY api ./api
COPY connectors ./connectors
COPY hub ./hub
COPY mappings ./mappings
COPY schemas ./schemas
COPY config ./config
USER node
EXPOSE 8080 2575 2576 2577 2580 2590
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/hub.mjs"]
CMD ["serve"]
