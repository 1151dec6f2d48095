# EventPulse image: one static binary on a distroless base, running as an
# unprivileged user. Build with `docker build -t eventpulse .`; the default
# command runs the API and the worker in one process, and docker-compose.yml
# runs them as separate services.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src

# Modules first, so editing the sources does not download them again.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/eventpulse ./cmd/eventpulse

# distroless/static has CA certificates and time zone data, but no shell and
# no curl, which is why the health check is a subcommand of the binary.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/eventpulse /usr/local/bin/eventpulse

# 65532 is the nonroot user of the distroless images.
USER 65532:65532
ENV EVENTPULSE_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/eventpulse", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/eventpulse"]
CMD ["run"]
