#!/usr/bin/env bash
# `make docker-test`: build the Docker image for real and run it.
#
# No container registry is reachable from CI, so the Dockerfile's base image
# (ARG PYTHON_IMAGE, the official python:3.11-slim-bookworm) is replaced by a local stand-in:
# Debian bookworm's own python3 (3.11), made with mmdebstrap and loaded with `docker import`.
# Steps: install docker.io and mmdebstrap if missing (as root), start a throwaway dockerd if
# none answers, make (or reuse the cached) stand-in, `docker build --network host`, run the
# image on a free loopback port and check /healthz, the HEALTHCHECK, a non-root uid, the page
# and an inspect; print the build time and the image size. The container, and the dockerd if
# this script started it, are removed on every exit, failures included.
#
# Knobs (environment): CONVSCOPE_BASE_IMAGE: build on this image instead of the stand-in
# (e.g. python:3.11.14-slim-bookworm where a registry is reachable); CONVSCOPE_DOCKER_CACHE:
# where the stand-in's root file system is kept (default ${XDG_CACHE_HOME:-$HOME/.cache}/convscope);
# DOCKER: the docker client to use.
set -euo pipefail
cd "$(dirname "$0")/.."

STANDIN_IMAGE=convscope-base:bookworm
BASE_IMAGE=${CONVSCOPE_BASE_IMAGE:-$STANDIN_IMAGE}
IMAGE=convscope:docker-test
CONTAINER=convscope-docker-test-$$
CACHE_DIR=${CONVSCOPE_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/convscope}
HOST_CA=/etc/ssl/certs/ca-certificates.crt
# What the stand-in holds: python3 (3.11) and pip like the official image, plus `python`
# (python-is-python3) because the Dockerfile's CMD and HEALTHCHECK call `python`.
# groupadd/useradd come with `passwd`, which every minbase system has.
STANDIN_PACKAGES=python3,python3-pip,python-is-python3,ca-certificates

log() { printf '[docker-test] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

T_START=$(now)
DOCKERD_PID=
DOCKERD_DIR=
CONTAINER_STARTED=

cleanup() {
    local rc=$?
    set +e
    if [ -n "$CONTAINER_STARTED" ]; then
        if [ "$rc" != 0 ]; then
            log "container log (last 40 lines):"
            "$DOCKER" logs --tail 40 "$CONTAINER" 2>&1 | sed 's/^/    /' >&2
        fi
        "$DOCKER" rm -f "$CONTAINER" >/dev/null 2>&1 && log "removed container $CONTAINER"
    fi
    if [ -n "$DOCKERD_PID" ]; then
        if [ "$rc" != 0 ] && [ -f "$DOCKERD_DIR/dockerd.log" ]; then
            log "dockerd log (last 20 lines):"
            tail -n 20 "$DOCKERD_DIR/dockerd.log" | sed 's/^/    /' >&2
        fi
        kill -TERM "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 1 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$DOCKERD_PID" 2>/dev/null
        wait "$DOCKERD_PID" 2>/dev/null
        # vfs layers are plain directories; make sure nothing is still mounted before removing.
        grep -o " $DOCKERD_DIR[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
        rm -rf "$DOCKERD_DIR"
        log "stopped the dockerd this script started (pid $DOCKERD_PID) and removed its data"
    fi
    if [ "$rc" = 0 ]; then log "passed in $(since "$T_START") s"; else log "FAILED (exit $rc)"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. Tools: Debian's docker.io (dockerd 20.10 and its own client) and mmdebstrap ----------
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
[ "$BASE_IMAGE" != "$STANDIN_IMAGE" ] || command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: run as root or install them (apt-get install ${missing[*]})"
    log "installing ${missing[*]} from Debian"
    t=$(now)
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
    log "installed in $(since "$t") s"
fi

# `RUN --mount` needs BuildKit. Debian bookworm has no buildx plugin, and a newer docker CLI
# without it refuses BuildKit builds; docker.io's own client (/usr/bin/docker, 20.10) drives the
# daemon's built-in BuildKit with DOCKER_BUILDKIT=1. A client with a working buildx is used as is.
if [ -z "${DOCKER:-}" ]; then
    if command -v docker >/dev/null && docker buildx version >/dev/null 2>&1; then
        DOCKER=$(command -v docker)
    elif [ -x /usr/bin/docker ]; then
        DOCKER=/usr/bin/docker
    else
        die "no docker client that can build with BuildKit (install docker.io or docker-buildx)"
    fi
fi
export DOCKER_BUILDKIT=1
log "client: $DOCKER ($("$DOCKER" --version))"

# --- 2. A daemon: the running one, or our own throwaway one --------------------------------
if "$DOCKER" info >/dev/null 2>&1; then
    log "using the running Docker daemon"
else
    DOCKERD_DIR=$(mktemp -d /tmp/cs-dockerd.XXXXXX)
    export DOCKER_HOST="unix://$DOCKERD_DIR/docker.sock"
    # vfs stores every layer as a full copy (2.6 GB at the peak of this build): on a tmpfs,
    # when the memory is there, copying it is quick and removing it at the end is instant.
    where="disk"
    if [ "$(awk '/^MemAvailable:/ {print int($2 / 1048576)}' /proc/meminfo)" -ge 12 ] &&
        mount -t tmpfs -o size=10g,mode=0700 convscope-dockerd "$DOCKERD_DIR" 2>/dev/null; then
        where="tmpfs"
    fi
    log "no Docker daemon answers: starting dockerd (data in $DOCKERD_DIR, on $where)"
    dockerd --iptables=false --bridge=none --storage-driver=vfs \
        --data-root "$DOCKERD_DIR/root" --exec-root "$DOCKERD_DIR/exec" \
        --pidfile "$DOCKERD_DIR/dockerd.pid" --host "$DOCKER_HOST" \
        >"$DOCKERD_DIR/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 1 120); do
        "$DOCKER" info >/dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || die "dockerd exited at start"
        sleep 0.5
    done
    "$DOCKER" info >/dev/null 2>&1 || die "dockerd did not answer within 60 s"
    log "dockerd $("$DOCKER" version -f '{{.Server.Version}}') is up"
fi

# --- 3. The stand-in base image -------------------------------------------------------------
make_standin() {
    # Debian's own sources (same mirror as the host's apt), else Debian's default mirror.
    SOURCES=
    for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
        if [ -s "$f" ] && grep -q '^[^#]*debian' "$f"; then SOURCES=$f; break; fi
    done
    # pip inside the build reaches the index as the host's does: the host's CA bundle, and the
    # host's index if it names one over http(s) (file:// indexes on the host's disk are not there).
    INDEX_URL=${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2>/dev/null || true)}
    case "$INDEX_URL" in http://* | https://*) ;; *) INDEX_URL= ;; esac
    [ -s "$HOST_CA" ] || die "no CA bundle at $HOST_CA"
    KEY=$(printf '%s\n' "$STANDIN_PACKAGES" "$SOURCES" "$INDEX_URL" "v2" |
        cat - "$HOST_CA" ${SOURCES:+"$SOURCES"} | sha256sum | cut -c1-12)
    ROOTFS=$CACHE_DIR/standin-bookworm-$KEY.tar

    if "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1 &&
        [ "$("$DOCKER" image inspect -f '{{index .Config.Labels "convscope.standin"}}' "$BASE_IMAGE")" = "$KEY" ]; then
        log "stand-in $BASE_IMAGE is already loaded"
    else
        if [ -s "$ROOTFS" ]; then
            log "reusing the cached stand-in root file system $ROOTFS"
        else
            log "making the stand-in with mmdebstrap: bookworm minbase + $STANDIN_PACKAGES (${SOURCES:-deb.debian.org})"
            t=$(now)
            mkdir -p "$CACHE_DIR"
            rm -f "$ROOTFS.part"
            pipconf="[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n"
            [ -n "$INDEX_URL" ] && pipconf="${pipconf}index-url = $INDEX_URL\n"
            # merged /usr through the usr-is-merged hook, not the usrmerge package (which pulls in
            # perl, 50 MB the official image does not have); no recommended packages.
            hooks=()
            [ -d /usr/share/mmdebstrap/hooks/merged-usr ] &&
                hooks=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
            mmdebstrap --quiet --variant=minbase --include="$STANDIN_PACKAGES" --format=tar \
                "${hooks[@]}" --aptopt='APT::Install-Recommends "false"' \
                --aptopt='Acquire::Check-Valid-Until "false"' \
                --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
                --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
                --dpkgopt='path-include=/usr/share/doc/*/copyright' \
                --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
                --customize-hook="cp '$HOST_CA' \"\$1/etc/ssl/certs/ca-certificates.crt\"" \
                --customize-hook="printf '$pipconf' > \"\$1/etc/pip.conf\"" \
                --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
                bookworm "$ROOTFS.part" ${SOURCES:+"$SOURCES"} \
                || die "mmdebstrap failed"
            mv "$ROOTFS.part" "$ROOTFS"
            log "stand-in root file system made in $(since "$t") s ($(du -m "$ROOTFS" | cut -f1) MB)"
        fi
        t=$(now)
        "$DOCKER" import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change "LABEL convscope.standin=$KEY" \
            --change 'CMD ["python3"]' \
            "$ROOTFS" "$BASE_IMAGE" >/dev/null
        log "imported $BASE_IMAGE in $(since "$t") s"
    fi
    log "stand-in: $("$DOCKER" run --rm --network none "$BASE_IMAGE" \
        sh -c 'echo "$(python --version), pip $(pip --version | cut -d" " -f2)"' 2>&1)"
}
if [ "$BASE_IMAGE" = "$STANDIN_IMAGE" ]; then
    make_standin
else
    log "building on $BASE_IMAGE (CONVSCOPE_BASE_IMAGE), not on the stand-in"
fi

# --- 4. Build --------------------------------------------------------------------------------
log "docker build --network host --build-arg PYTHON_IMAGE=$BASE_IMAGE -t $IMAGE ."
t=$(now)
"$DOCKER" build --network host --build-arg "PYTHON_IMAGE=$BASE_IMAGE" -t "$IMAGE" . \
    || die "docker build failed"
BUILD_SECONDS=$(since "$t")
SIZE=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE")
BASE_SIZE=$("$DOCKER" image inspect -f '{{.Size}}' "$BASE_IMAGE")
log "built $IMAGE in $BUILD_SECONDS s"

# --- 5. Run and check ------------------------------------------------------------------------
# The daemon has no bridge, so the container shares the host's network; the image's own CMD and
# HEALTHCHECK are run with only the port swapped to a free one (and 0.0.0.0 to loopback).
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
read -r -a RUN_CMD < <("$DOCKER" image inspect -f '{{json .Config.Cmd}}' "$IMAGE" | python3 -c '
import json, shlex, sys
cmd = [{"0.0.0.0": "127.0.0.1", "8000": sys.argv[1]}.get(p, p) for p in json.load(sys.stdin)]
print(" ".join(cmd))' "$PORT")
HEALTH_CMD=$("$DOCKER" image inspect -f '{{json .Config.Healthcheck.Test}}' "$IMAGE" | python3 -c '
import json, shlex, sys
test = json.load(sys.stdin)
assert test and test[0] == "CMD", f"expected an exec-form HEALTHCHECK, got {test}"
print(shlex.join(p.replace("127.0.0.1:8000", "127.0.0.1:" + sys.argv[1]) for p in test[1:]))' "$PORT")
BASE_URL=http://127.0.0.1:$PORT
log "docker run --network host $IMAGE ${RUN_CMD[*]}"
CONTAINER_STARTED=1
"$DOCKER" run -d --name "$CONTAINER" --network host \
    --health-cmd "$HEALTH_CMD" --health-interval 1s --health-timeout 3s --health-retries 3 \
    "$IMAGE" "${RUN_CMD[@]}" >/dev/null

ok=
for _ in $(seq 1 120); do
    if curl -fsS --max-time 2 "$BASE_URL/healthz" >/dev/null 2>&1; then ok=1; break; fi
    [ "$("$DOCKER" inspect -f '{{.State.Running}}' "$CONTAINER")" = true ] || die "the container exited"
    sleep 0.5
done
[ -n "$ok" ] || die "/healthz did not answer within 60 s"
body=$(curl -fsS --max-time 5 "$BASE_URL/healthz")
[ "$body" = '{"status":"ok"}' ] || die "/healthz answered $body"
log "ok: /healthz answers $body"

status=
for _ in $(seq 1 60); do
    status=$("$DOCKER" inspect -f '{{.State.Health.Status}}' "$CONTAINER")
    [ "$status" = healthy ] && break
    [ "$status" = unhealthy ] && die "the HEALTHCHECK reports unhealthy"
    sleep 0.5
done
[ "$status" = healthy ] || die "the HEALTHCHECK is still '$status' after 30 s"
log "ok: the HEALTHCHECK reports healthy"

uid=$("$DOCKER" exec "$CONTAINER" sh -c 'awk "/^Uid:/ {print \$2}" /proc/1/status')
[ -n "$uid" ] && [ "$uid" != 0 ] || die "the server runs as uid '${uid}', expected non-root"
log "ok: the server process runs as uid $uid"

read -r code ctype < <(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{content_type}\n' "$BASE_URL/")
[ "$code" = 200 ] && [[ "$ctype" == text/html* ]] || die "GET / answered $code $ctype"
log "ok: GET / answers $code $ctype"

out=$(mktemp)
code=$(curl -sS --max-time 60 -o "$out" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"sample": 7}' "$BASE_URL/api/v1/models/lenet5/inspect")
summary=$(python3 -c '
import json, sys
body = json.load(open(sys.argv[1]))
error = body.get("error")
if isinstance(error, dict):
    print(error.get("code"), error.get("message"), sep=": ")
else:
    print(", ".join(f"{k}={body[k]}" for k in ("prediction", "target", "blank") if k in body))
' "$out" 2>&1) || summary="not JSON: $(head -c 300 "$out")"
rm -f "$out"
[ "$code" = 200 ] || die "POST /api/v1/models/lenet5/inspect answered $code: $summary"
log "ok: POST /api/v1/models/lenet5/inspect {\"sample\": 7} answers 200 ($summary)"

mb() { python3 -c "print(f'{int(__import__(\"sys\").argv[1]) / 1e6:.0f} MB')" "$1"; }
log "image $IMAGE: $(mb "$SIZE") uncompressed ($SIZE bytes; base $BASE_IMAGE $(mb "$BASE_SIZE")), built in $BUILD_SECONDS s"
