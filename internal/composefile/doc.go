// Package composefile reads the services' images from docker-compose files and finds,
// byte for byte, the characters of an image's tag — runbook step 3.
//
// It parses with go.yaml.in/yaml nodes only to learn where things are; it never
// re-serialises a file. It follows what compose follows — aliases, anchors, merge keys
// (<<: *x and <<: [*a, *b]) — to the scalar that really holds a service's image, and
// it reads compose's ${VAR} interpolation to tell whether the tag sits in the file or in
// a variable. An edit replaces the tag's characters and nothing else: quotes, comments
// on the same line, anchors, CRLF and a missing final newline all stay.
package composefile
