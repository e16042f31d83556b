#!/bin/sh
# restart all services
docker-compose stop
docker-compose rm -f
docker-compose up -d
