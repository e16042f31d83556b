// Package engine is imgup's narrow seam to the Docker Engine API: the few calls imgup
// makes (load, image and container inspection, logs, where images are stored), and no
// others. Production code uses Docker, the real client built from the environment
// (DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY honoured, API version negotiated,
// Engine 19.03 / API 1.40 at least). Tests inject a fake that embeds Client, so that any
// call a test did not expect fails loudly.
//
// It promises that a load reported as done is done: Docker reports load errors inside a
// 200 OK JSON stream, and every such error is returned as an error here.
package engine
