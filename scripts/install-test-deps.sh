#!/usr/bin/env bash
# Installs the Debian tools the tests use, only when missing, so `pnpm test` works on a fresh
# machine: openssl (the HTTP/2 test makes a certificate), Chromium (browser tests through
# playwright-core), redis-server, redis-tools and redis-sentinel (the Redis broker's tests run a
# real Redis where no container engine runs), nginx (the local stack's load balancer) and
# docker-compose v1 (validates docker-compose.yml offline; no container engine runs here).
# One `apt-get update` serves every install; a failed install is reported, and the tests that
# need the tool fail and say so.
#
# Usage: install-test-deps.sh [--stack | --chaos]
#   --stack  only what `pnpm stack` needs: redis-server and nginx
#   --chaos  only what `pnpm chaos` needs: redis-server, redis-tools and redis-sentinel
set -u
apt_updated=false
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "deps: $1 is missing and this is not root: install it (apt-get install $1); $2 will fail"
    return
  fi
  echo "deps: installing $1"
  if [ "$apt_updated" = false ]; then
    apt_updated=true
    apt-get update -qq >/dev/null 2>&1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null 2>&1 ||
    echo "deps: could not install $1; $2 will fail"
}
# nginx lives in /usr/sbin, which is not on every user's PATH.
has_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }

command -v redis-server >/dev/null 2>&1 || apt_install redis-server "the Redis tests and pnpm stack"
if [ "${1:-}" = "--chaos" ]; then
  command -v redis-cli >/dev/null 2>&1 || apt_install redis-tools "pnpm chaos"
  command -v redis-sentinel >/dev/null 2>&1 || apt_install redis-sentinel "pnpm chaos --topology sentinel"
  exit 0
fi
has_nginx || apt_install nginx "the local stack's nginx (pnpm stack falls back to its Node balancer)"
[ "${1:-}" = "--stack" ] && exit 0

command -v openssl >/dev/null 2>&1 || apt_install openssl "the HTTP/2 test"
[ -x /usr/bin/chromium ] || apt_install chromium "the browser tests"
command -v redis-cli >/dev/null 2>&1 || apt_install redis-tools "the multi-replica Redis tests"
command -v redis-sentinel >/dev/null 2>&1 || apt_install redis-sentinel "the Sentinel tests"
command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose "the docker-compose.yml check"
command -v kubectl >/dev/null 2>&1 || echo "deps: kubectl is missing (not in Debian's packages): the k8s manifest checks will fail"
exit 0
