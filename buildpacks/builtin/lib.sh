# lib.sh: helpers the built-in buildpacks source. Heroku-style output:
# "-----> step" for steps, sub-step output indented by seven spaces.
step() { echo "-----> $*"; }
indent() { sed -u 's/^/       /'; }
# load_env ENV_DIR: exports the app's config vars (one file per var), except
# those the build itself must own.
load_env() {
  local f n
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    n=$(basename "$f")
    [[ $n =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    case "$n" in PATH|HOME|PWD|GOROOT|GOMODCACHE|GOCACHE|GOPATH|BUILD_DIR|CACHE_DIR|ENV_DIR) continue ;; esac
    export "$n=$(cat "$f")"
  done
}
