echo "${_group}Fetching and updating Docker images ..."

# Locally built images cannot be pulled: their failures are expected, and hidden.
$dc pull --ignore-pull-failures 2>&1 | grep -v -- -self-hosted-local || true

# The application image may be a local one too.
docker pull ${ACME_IMAGE} || true

echo "${_endgroup}"
