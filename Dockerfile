# syntax=docker/dockerfile:1
# kehou: multi-stage build. The builder compiles with cgo (mattn/go-sqlite3);
# it is the bookworm variant so the binary links against the same glibc as
# the bookworm-slim runtime.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /kehou ./server

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 kehou \
 && useradd --system --uid 10001 --gid kehou --home-dir /data --shell /usr/sbin/nologin kehou \
 && mkdir -p /data && chown kehou:kehou /data
COPY --from=build /kehou /usr/local/bin/kehou
ENV DATABASE_URL=sqlite:/data/kehou.db \
    LISTEN_ADDR=:8080 \
    KEHOU_ENV=production \
    TZ=Asia/Shanghai
VOLUME /data
WORKDIR /data
USER kehou
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["kehou", "healthcheck"]
ENTRYPOINT ["kehou"]
