#!/bin/bash
#
# Acme Ledger test network (in the shape of Hyperledger Fabric's test-network/network.sh):
# ./network.sh up|down|restart [-s couchdb] [-verbose]
#
# the tools of the release sit in ../bin
export PATH=${PWD}/../bin:$PATH
export FABRIC_CFG_PATH=${PWD}/configtx
export VERBOSE=false

# docker-compose when it is installed, else the compose plugin
: ${CONTAINER_CLI:="docker"}
if command -v ${CONTAINER_CLI}-compose > /dev/null 2>&1; then
    : ${CONTAINER_CLI_COMPOSE:="${CONTAINER_CLI}-compose"}
else
    : ${CONTAINER_CLI_COMPOSE:="${CONTAINER_CLI} compose"}
fi

function infoln() {
  echo -e "\033[0;34m${1}\033[0m"
}
function fatalln() {
  echo -e "\033[0;31m${1}\033[0m"
  exit 1
}

function printHelp() {
  echo "Usage: network.sh <Mode> [Flags]"
  echo "  Modes: up, down, restart"
  echo "  Flags: -s <dbtype> goleveldb (default) or couchdb; -verbose"
}

# Start the orderer and the peers.
function networkUp() {
  COMPOSE_FILES="-f compose/${COMPOSE_FILE_BASE} -f compose/${CONTAINER_CLI}/${CONTAINER_CLI}-${COMPOSE_FILE_BASE}"

  if [ "${DATABASE}" == "couchdb" ]; then
    COMPOSE_FILES="${COMPOSE_FILES} -f compose/${COMPOSE_FILE_COUCH} -f compose/${CONTAINER_CLI}/${CONTAINER_CLI}-${COMPOSE_FILE_COUCH}"
  fi

  DOCKER_SOCK="${DOCKER_SOCK}" ${CONTAINER_CLI_COMPOSE} ${COMPOSE_FILES} up -d 2>&1

  $CONTAINER_CLI ps -a --filter "label=com.docker.compose.project" > /dev/null
  if [ $? -ne 0 ]; then
    fatalln "Unable to start network"
  fi
}

# Tear the network down; a restart keeps the generated artifacts.
function networkDown() {
  COMPOSE_BASE_FILES="-f compose/${COMPOSE_FILE_BASE} -f compose/${CONTAINER_CLI}/${CONTAINER_CLI}-${COMPOSE_FILE_BASE}"
  COMPOSE_COUCH_FILES="-f compose/${COMPOSE_FILE_COUCH} -f compose/${CONTAINER_CLI}/${CONTAINER_CLI}-${COMPOSE_FILE_COUCH}"
  COMPOSE_FILES="${COMPOSE_BASE_FILES} ${COMPOSE_COUCH_FILES}"

  DOCKER_SOCK=$DOCKER_SOCK ${CONTAINER_CLI_COMPOSE} ${COMPOSE_FILES} down --volumes --remove-orphans

  if [ "$MODE" != "restart" ]; then
    # the ledgers and channel artifacts go with the network
    rm -rf channel-artifacts log.txt
  fi
}

COMPOSE_FILE_BASE=compose-test-net.yaml
COMPOSE_FILE_COUCH=compose-couch.yaml
DATABASE="leveldb"
CHANNEL_NAME="mychannel"

# the socket the peers build chaincode with
SOCK="${DOCKER_HOST:-/var/run/docker.sock}"
DOCKER_SOCK="${SOCK##unix://}"

if [[ $# -lt 1 ]] ; then
  printHelp
  exit 0
else
  MODE=$1
  shift
fi

while [[ $# -ge 1 ]] ; do
  key="$1"
  case $key in
  -h )
    printHelp
    exit 0
    ;;
  -s )
    DATABASE="$2"
    shift
    ;;
  -verbose )
    VERBOSE=true
    ;;
  * )
    echo "Unknown flag: $key"
    printHelp
    exit 1
    ;;
  esac
  shift
done

if [ "$MODE" == "up" ]; then
  infoln "Starting nodes using database '${DATABASE}'"
  networkUp
elif [ "$MODE" == "down" ]; then
  infoln "Stopping network"
  networkDown
elif [ "$MODE" == "restart" ]; then
  infoln "Restarting network"
  networkDown
  networkUp
else
  printHelp
  exit 1
fi
