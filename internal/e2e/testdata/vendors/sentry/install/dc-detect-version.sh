echo "${_group}Initializing Docker Compose ..."

# The compose plugin when the engine has it, else the standalone docker-compose.
if docker compose version --short &>/dev/null; then
  dc_base="docker compose"
else
  dc_base="docker-compose"
fi
COMPOSE_VERSION=$($dc_base version --short || echo '')
if [[ -z "$COMPOSE_VERSION" ]]; then
  echo "FAIL: Docker Compose is required to run self-hosted"
  exit 1
fi

dc="$dc_base --ansi never --env-file ${_ENV}"

echo "${_endgroup}"
