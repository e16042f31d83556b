echo "${_group}Turning things off ..."

# Nothing may run while we install or update.
$dc down -t $STOP_TIMEOUT --rmi local --remove-orphans

echo "${_endgroup}"
