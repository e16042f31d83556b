package target

import (
	"context"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// None is --restart none: the files are edited and the containers keep their images
// until the next restart.
const None = "none"

type none struct{ composeLabels }

func (none) Name() string                               { return None }
func (none) Help() i18n.Message                         { return i18n.Msg("do not restart") }
func (none) Command(*deploy.Deployment) (string, error) { return "", nil }
func (none) Restart(context.Context, Run) error         { return nil }
