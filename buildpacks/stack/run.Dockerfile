# wharf/stack-run: what apps built by buildpacks run on. {{BASE}} is the
# bookworm base, {{BUILD}} the build stack (for the static file server).
FROM {{BASE}}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 nodejs \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && useradd --uid 1000 --user-group --create-home --home-dir /home/app --shell /bin/bash app \
 && mkdir /app && chown app:app /app
# The host's CA bundle, when it has one, so builds and apps trust what the
# host trusts (e.g. a proxy with its own CA).
COPY host-ca.crt /tmp/host-ca.crt
RUN if [ -s /tmp/host-ca.crt ]; then cp /tmp/host-ca.crt /etc/ssl/certs/ca-certificates.crt; fi && rm /tmp/host-ca.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt
COPY --from={{BUILD}} /usr/local/bin/wharf-static /usr/local/bin/wharf-static
COPY wharf-launch /usr/local/bin/wharf-launch
