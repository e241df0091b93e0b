//go:build !windows

package safefile

import (
	"errors"
	"fmt"
	"os"
)

// syncDir makes a rename in dir durable. A system that cannot sync a
// directory is not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}
