package timeline

import (
	"errors"
	"fmt"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
)

var (
	// ErrGCCutoff is wrapped by errors for reads and branches below the
	// timeline's latest GC cutoff.
	ErrGCCutoff = errors.New("requested LSN is below the GC cutoff")
	// ErrWaitLSNTimeout is wrapped when WAL did not arrive in time.
	ErrWaitLSNTimeout = errors.New("timed out waiting for WAL")
	// ErrNotFound is wrapped when no version of a key exists at an LSN.
	ErrNotFound = errors.New("key not found")
	// ErrCorrupt is wrapped by read errors caused by a corrupt layer file;
	// such an error also makes the timeline Broken. Never retry.
	ErrCorrupt = errors.New("timeline data corrupt")
	// ErrBroken is wrapped by errors from a Broken timeline.
	ErrBroken = errors.New("timeline is broken")
	// ErrStopping is wrapped by errors from a Stopping timeline.
	ErrStopping = errors.New("timeline is stopping")
	// ErrFlushLoopNotStarted is wrapped when a flush is requested before
	// the flush loop was started.
	ErrFlushLoopNotStarted = errors.New("flush loop not started")
	// ErrFlushLoopExited is wrapped when a flush is requested after the
	// flush loop exited.
	ErrFlushLoopExited = errors.New("flush loop exited")
	// ErrInvalidLSN is wrapped for writes or branches at an unacceptable LSN.
	ErrInvalidLSN = errors.New("invalid LSN")
)

// CorruptionError reports a corrupt layer met on the read path. It matches
// ErrCorrupt and unwraps to the layer's error (layer.ErrCorrupt).
type CorruptionError struct {
	Layer string
	Key   key.Key
	LSN   lsn.LSN
	Err   error
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("read %s at %s from layer %s: %v", e.Key, e.LSN, e.Layer, e.Err)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the layer's error.
func (e *CorruptionError) Unwrap() error { return e.Err }
