set -euo pipefail
test "${DEBUG:-}" && set -x

umask 002

# .env.custom, when there is one, overrides .env.
if [[ -f .env.custom ]]; then
  _ENV=.env.custom
else
  _ENV=.env
fi

# Read the env file for defaults; what the caller exported wins (it is saved first
# and read back after).
t=$(mktemp) && export -p >"$t" && set -a && . "$_ENV" && set +a && . "$t" && rm "$t" && unset t

_group="▶ "
_endgroup=""

# Give workers time to drain their queues when stopped.
STOP_TIMEOUT=60 # seconds
