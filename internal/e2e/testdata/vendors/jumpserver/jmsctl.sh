#!/usr/bin/env bash
# Acme Bastion control script (in JumpServer's shape): ./jmsctl.sh start|stop|restart|down|status
PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" >/dev/null 2>&1 && pwd)"

. "${PROJECT_DIR}/scripts/utils.sh"

action=${1-}
target=${2-}

EXE=""

function check_config_file() {
  if [[ ! -f "${CONFIG_FILE}" ]]; then
    echo "Configuration file not found: ${CONFIG_FILE}"
    return 3
  fi
  if [[ ! -f .env ]]; then
    ln -s "${CONFIG_FILE}" .env
  fi
}

function start() {
  ${EXE} up -d
}

function stop() {
  if [[ -n "${target}" ]]; then
    ${EXE} stop "${target}" && ${EXE} rm -f "${target}"
    return
  fi
  services=$(get_docker_compose_services ignore_db)
  for i in ${services}; do
    ${EXE} stop "${i}"
  done
  for i in ${services}; do
    ${EXE} rm -f "${i}" >/dev/null
  done
}

function restart() {
  stop
  echo -e "\n"
  start
}

function main() {
  cd "${PROJECT_DIR}" || exit 1
  check_config_file || return 3
  EXE=$(get_docker_compose_cmd_line)
  case "${action}" in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  status) ${EXE} ps ;;
  down) ${EXE} down -v ;;
  *)
    echo "No such command: ${action}"
    echo "Usage: ./jmsctl.sh start|stop|restart|status|down"
    ;;
  esac
}

main "$@"
