#!/bin/bash
# Set up and start the Acme Scanner community containers
# (in the shape of Greenbone's setup-and-start-greenbone-community-edition.sh)

set -e

DOWNLOAD_DIR=$HOME/greenbone-community-container

installed() {
    # $1 is the command needed
    if ! [ -x "$(command -v $1)" ]; then
        echo "$1 is not available. See the prerequisites in the docs."
        exit 1
    fi
}

RELEASE="22.4"

installed curl
installed docker

echo "Using Acme Scanner community containers $RELEASE"

mkdir -p $DOWNLOAD_DIR && cd $DOWNLOAD_DIR

echo "Downloading the compose file..."
curl -f -O https://scanner.acme.invalid/docs/latest/_static/docker-compose-$RELEASE.yml

echo "Pulling Acme Scanner community containers $RELEASE"
docker compose -f $DOWNLOAD_DIR/docker-compose-$RELEASE.yml -p {NAME} pull
echo

echo "Starting Acme Scanner community containers $RELEASE"
docker compose -f $DOWNLOAD_DIR/docker-compose-$RELEASE.yml -p {NAME} up -d
echo

read -s -p "Password for admin user: " password
docker compose -f $DOWNLOAD_DIR/docker-compose-$RELEASE.yml -p {NAME} \
    exec -T web /testapp health

echo
echo "The feed data will be loaded now. This may take from minutes to hours."
