// Package deploytest writes sample deployments modelled on the Encoo private console
// (single machine): a root stack with infrastructure and business services, a
// vicode/ stack, .systemconfig files and a deploy.sh like the vendor's. Tests, the
// testscript scenarios and the demo all use it, with the image names they need.
//
// The files exercise what the reference deployment page lists: a quoted image with a
// trailing comment, a docker.io/ prefix, anchors and merge keys, one image used by two
// services, an image from a ${VAR} holding a full reference, a tag from ${VAR}, a
// single-quoted image, CRLF line endings, a file without a final newline, and a
// password in .systemconfig that contains a version number.
package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Options shape a sample deployment.
type Options struct {
	// Prefix goes before every image name: "" for the vendor's names, or a test
	// registry path ("imguptest.local/ab12cd/") so tests own their images.
	Prefix string
	// Old writes the old layout: no docker-compose.service.yml, everything in
	// docker-compose.yml.
	Old bool
	// Project is the compose project name deploy.sh passes (-p "$COMPOSE_PROJECT", set in
	// .systemconfig, as vendor scripts do); vicode gets Project+"-vicode".
	Project string
	// Compose is the command deploy.sh runs: "docker-compose" (v1) or "docker compose" (v2).
	Compose string
}

// Versions the sample starts at.
const (
	WebVersion        = "4.1.70000"
	FoundationVersion = "4.1.70001"
	RPAVersion        = "4.1.70002"
	ViCodeVersion     = "2.0.100"
	InfraVersion      = "1"
)

// ServiceCount is how many services (and so containers) the sample runs: 12, as
// rpa and rpa-scheduler share one image.
const ServiceCount = 12

// Images lists every image the sample deployment uses, with its tag.
func Images(prefix string) []string {
	var out []string
	for _, i := range []string{
		"encoo/console-web-v4-pvt:" + WebVersion,
		"encoo/digi4th-foundation-service:" + FoundationVersion,
		"encoo/rpa-service:" + RPAVersion,
		"encoo/rpa-rdp-service:" + RPAVersion,
		"encoo/rpa-rdp-web-service:" + RPAVersion,
		"encoo/vicode-apps-web:" + ViCodeVersion,
		"encoo/vicode-service:" + ViCodeVersion,
		"encoo/vicode-collectionexecutor:" + ViCodeVersion,
		"infra/mysql:" + InfraVersion,
		"infra/redis:" + InfraVersion,
		"infra/nginx:" + InfraVersion,
	} {
		out = append(out, prefix+i)
	}
	return out
}

// Write writes the sample deployment into dir.
func Write(dir string, o Options) error {
	if o.Project == "" {
		o.Project = "encoo"
	}
	if o.Compose == "" {
		o.Compose = "docker-compose"
	}
	r := strings.NewReplacer("{P}", o.Prefix, "{PROJECT}", o.Project, "{COMPOSE}", o.Compose)
	files := map[string]string{
		".systemconfig":             systemconfig,
		"deploy.sh":                 deploySh,
		"vicode/.systemconfig":      vicodeConfig,
		"vicode/docker-compose.yml": strings.ReplaceAll(vicodeCompose, "\n", "\r\n"),
		"image/README.txt":          "Upload image archives here.\n",
	}
	if o.Old {
		files["docker-compose.yml"] = infraCompose + serviceCompose[strings.Index(serviceCompose, "services:\n")+len("services:\n"):]
		files["deploy.sh"] = strings.ReplaceAll(deploySh, " -f docker-compose.service.yml", "")
	} else {
		files["docker-compose.yml"] = infraCompose
		files["docker-compose.service.yml"] = serviceCompose
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(r.Replace(content)), mode); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

const systemconfig = `# Encoo private console, single-machine edition: system configuration.
# Sourced by deploy.sh. Image versions must match the compose files.
CONSOLE_VERSION=4.1.150431
CONSOLE_WEB_IMAGE={P}encoo/console-web-v4-pvt:4.1.70000
FOUNDATION_SERVICE_VERSION=4.1.70001
RPA_SERVICE_VERSION=4.1.70002
RPA_RDP_SERVICE_VERSION=4.1.70002
export RPA_RDP_WEB_SERVICE_VERSION="4.1.70002"

# Database
MYSQL_PASSWORD='Encoo@4.1.70000!'

# Compose project names: deploy.sh passes -p "$COMPOSE_PROJECT" and "$COMPOSE_PROJECT-vicode"
COMPOSE_PROJECT={PROJECT}
`

// common is the anchor each compose file needs for itself: YAML anchors do not cross files.
const common = `x-common: &common
  restart: always
  healthcheck:
    test: ["CMD", "/testapp", "health"]
    interval: 1s
    timeout: 2s
    retries: 3
    start_period: 2s
`

const infraCompose = `version: "3.7"

` + common + `
services:
  mysql:
    <<: *common
    image: {P}infra/mysql:1
    command: ["mysqld"]
  redis:
    <<: *common
    image: {P}infra/redis:1
  nginx:
    <<: *common
    image: {P}infra/nginx:1 # the front proxy
    depends_on: [console-web]
`

const serviceCompose = common + `
services:
  console-web:
    <<: *common
    image: "{P}encoo/console-web-v4-pvt:4.1.70000" # console front end
  foundation:
    <<: *common
    image: docker.io/{P}encoo/digi4th-foundation-service:4.1.70001
  rpa:
    <<: *common
    image: {P}encoo/rpa-service:4.1.70002
    command: ["serve"]
  rpa-scheduler:
    <<: *common
    image: {P}encoo/rpa-service:4.1.70002
    command: ["schedule"]
  rpa-rdp:
    <<: *common
    image: {P}encoo/rpa-rdp-service:4.1.70002
  rpa-rdp-web:
    <<: *common
    image: '{P}encoo/rpa-rdp-web-service:4.1.70002'
`

const vicodeConfig = `VICODE_SERVICE_IMAGE={P}encoo/vicode-service:2.0.100
VICODE_APPS_WEB_VERSION=2.0.100
VICODE_COLLECTOR_VERSION=2.0.100
`

// vicodeCompose is written with CRLF line endings and no final newline.
const vicodeCompose = `version: '3.7'
x-vicode: &vicode
  restart: always
  healthcheck:
    test: ["CMD", "/testapp", "health"]
    interval: 1s
    timeout: 2s
    retries: 3
    start_period: 2s
services:
  vicode-apps-web:
    <<: *vicode
    image: {P}encoo/vicode-apps-web:${VICODE_APPS_WEB_VERSION}
  vicode-service:
    <<: *vicode
    image: ${VICODE_SERVICE_IMAGE}
  vicode-collectionexecutor:
    <<: *vicode
    image: '{P}encoo/vicode-collectionexecutor:2.0.100'`

const deploySh = `#!/bin/bash
# deploy.sh start|stop|restart — modelled on the Encoo console's vendor script.
# restart removes every container and creates them again from the yml files.
set -e
cd "$(dirname "$0")"
set -a; . ./.systemconfig; set +a

console() { {COMPOSE} -p "$COMPOSE_PROJECT" -f docker-compose.yml -f docker-compose.service.yml "$@"; }
vicode() { (cd vicode && set -a && . ./.systemconfig && set +a && {COMPOSE} -p "$COMPOSE_PROJECT-vicode" -f docker-compose.yml "$@"); }

case "$1" in
  start)   console up -d; vicode up -d ;;
  stop)    vicode down; console down ;;
  restart) vicode down; console down; console up -d; vicode up -d ;;
  *) echo "usage: $0 start|stop|restart" >&2; exit 2 ;;
esac
`
