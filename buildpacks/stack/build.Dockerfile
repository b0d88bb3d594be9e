# wharf/stack-build: where buildpacks run. {{BASE}} is the bookworm base.
FROM {{BASE}}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl git unzip python3 python3-venv python3-pip nodejs npm build-essential \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && mkdir -p /app /cache /env /buildpacks
# The host's CA bundle, when it has one, so builds and apps trust what the
# host trusts (e.g. a proxy with its own CA).
COPY host-ca.crt /tmp/host-ca.crt
RUN if [ -s /tmp/host-ca.crt ]; then cp /tmp/host-ca.crt /etc/ssl/certs/ca-certificates.crt; fi && rm /tmp/host-ca.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt
ARG GOPROXY_URL=https://proxy.golang.org
RUN curl -fsS --retry 3 -o /tmp/go.zip "$GOPROXY_URL/golang.org/toolchain/@v/v0.0.1-{{GOVERSION}}.linux-amd64.zip" \
 && unzip -q /tmp/go.zip -d /tmp/go \
 && mv "/tmp/go/golang.org/toolchain@v0.0.1-{{GOVERSION}}.linux-amd64" /usr/local/go \
 && rm -rf /tmp/go /tmp/go.zip
COPY static /tmp/static
RUN cd /tmp/static \
 && GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0 GOPROXY=off /usr/local/go/bin/go build -trimpath -ldflags=-s -o /usr/local/bin/wharf-static . \
 && rm -rf /tmp/static /root/.cache
