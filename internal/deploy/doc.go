// Package deploy finds the deployment an operator points imgup at: its stacks (the
// root, vicode/, and any folder deploy.sh works in), each stack's compose files in
// the order compose reads them, its .systemconfig and .env, and deploy.sh. It reads
// every service's image as compose does, and checks its own reading against
// compose-go's: where the two disagree, the service is not editable.
//
// It reads; it never writes. It discovers rather than assumes, so any docker-compose
// deployment works, not only the Encoo console.
package deploy
