#!/usr/bin/env bash
# Helpers shared by jmsctl.sh and the install steps.
BASE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" >/dev/null 2>&1 && pwd)"

. "${BASE_DIR}/const.sh"

function get_config() {
  key=$1
  default=${2-''}
  value=$(grep "^${key}=" "${CONFIG_FILE}" | awk -F= '{ print $2 }' | awk -F' ' '{ print $1 }')
  if [[ -z "$value" ]]; then
    value="$default"
  fi
  echo "${value}"
}

function get_docker_compose_services() {
  ignore_db="$1"
  services="web"
  db_host=$(get_config DB_HOST)
  if [[ "${db_host}" == "db" && "${ignore_db}" != "ignore_db" ]]; then
    services+=" db"
  fi
  echo "${services}"
}

function get_docker_compose_cmd_line() {
  cmd="docker-compose -f compose/network.yml"
  services=$(get_docker_compose_services)
  for service in web db; do
    if [[ "${services}" =~ ${service} ]]; then
      cmd+=" -f compose/${service}.yml"
    fi
  done
  echo "${cmd}"
}
