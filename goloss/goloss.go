// Package goloss computes multi-label focal losses and their gradients with
// respect to the predictions, for float32 and float64, in one pass over the
// data. It is the single home of the project's math: the C library, the
// TensorFlow op and the Python package only move data to it and check shapes.
//
// Tensors are flat, row-major slices: labels and predictions hold rows×cols
// values (rows samples, cols classes), per-class vectors hold cols values, and
// the per-sample loss holds rows values. Destinations come first in every
// signature; inputs are never modified.
//
// Every function reports bad input as an error wrapping one of ErrShape,
// ErrParam or ErrValue, whose message names the offending argument, index or
// shape. Nothing panics on bad input.
package goloss

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// Version is the version of the loss core, reported by every layer above it.
const Version = "0.1.0"

// Float is the set of element types the kernels accept.
type Float interface {
	~float32 | ~float64
}

var (
	// ErrShape reports sizes that do not fit together.
	ErrShape = errors.New("shape mismatch")
	// ErrParam reports a loss parameter (gamma, e, ...) outside its domain.
	ErrParam = errors.New("invalid parameter")
	// ErrValue reports an input value outside its domain: a class count that
	// is not finite and positive, a negative weight, a probability outside
	// [0, 1].
	ErrValue = errors.New("invalid value")
)

// checkUnit returns an error unless 0 <= v <= 1.
func checkUnit(name string, v float64) error {
	if !(v >= 0 && v <= 1) {
		return fmt.Errorf("%w: %s = %v, want 0 <= %s <= 1", ErrParam, name, v, name)
	}
	return nil
}

// checkGamma returns an error unless gamma is finite and >= 0.
func checkGamma(gamma float64) error {
	if !(gamma >= 0) || math.IsInf(gamma, 1) {
		return fmt.Errorf("%w: gamma = %v, want a finite gamma >= 0", ErrParam, gamma)
	}
	return nil
}

// checkSizes validates the flat sizes shared by every variant: rows = len(loss),
// labels and predictions hold rows*cols values, grad is empty or holds
// rows*cols values, per-class vectors hold cols values.
func checkSizes(cols, loss, grad, labels, preds int) error {
	if cols <= 0 {
		return fmt.Errorf("%w: the number of classes is %d, want at least 1", ErrShape, cols)
	}
	if labels != preds {
		return fmt.Errorf("%w: labels hold %d values but predictions hold %d", ErrShape, labels, preds)
	}
	if preds%cols != 0 {
		return fmt.Errorf("%w: predictions hold %d values, not a multiple of %d classes", ErrShape, preds, cols)
	}
	rows := preds / cols
	if loss != rows {
		return fmt.Errorf("%w: loss holds %d values, want one per row: %d rows of %d classes", ErrShape, loss, rows, cols)
	}
	if grad != 0 && grad != preds {
		return fmt.Errorf("%w: grad holds %d values, want %d (rows %d × classes %d) or none", ErrShape, grad, preds, rows, cols)
	}
	return nil
}

// checkProbabilities returns an error naming the first finite prediction
// outside [0, 1]. NaN and ±Inf are left to propagate into the outputs, as in
// every TensorFlow loss. The rows are checked in up to threads chunks at once.
func checkProbabilities[T Float](preds []T, cols, threads int) error {
	rows := len(preds) / cols
	var (
		mu    sync.Mutex
		first = rows
		err   error
	)
	forRowChunks(rows, cols, threads, func(lo, hi int) {
		if inUnitRange(preds[lo*cols : hi*cols]) {
			return // the vector kernel's quick pass: nothing to name
		}
		for i, v := range preds[lo*cols : hi*cols] {
			if v >= 0 && v <= 1 || v != v || math.IsInf(float64(v), 0) {
				continue
			}
			at := lo*cols + i
			mu.Lock()
			if at/cols < first || err == nil {
				first = at / cols
				err = fmt.Errorf("%w: predictions[%d, %d] = %v is not a probability in [0, 1]", ErrValue, at/cols, at%cols, v)
			}
			mu.Unlock()
			return
		}
	})
	return err
}

// checkWeights returns an error naming the first class weight that is
// negative or infinite.
func checkWeights[T Float](name string, weights []T) error {
	for i, v := range weights {
		if !(v >= 0) || math.IsInf(float64(v), 1) {
			return fmt.Errorf("%w: %s[%d] = %v, want a finite weight >= 0", ErrValue, name, i, v)
		}
	}
	return nil
}

// minRowsWork is the least work, in elements, worth a goroutine of its own.
const minRowsWork = 1 << 14

// forRowChunks runs run over [0, rows) in up to threads contiguous chunks,
// one goroutine each, and returns when all are done. Rows are independent
// and every chunk runs in the default floating-point mode, so the results
// have the same bits for any number of chunks on any thread. A panic in a
// chunk is raised again on the calling goroutine, where callers recover it.
func forRowChunks(rows, cols, threads int, run func(lo, hi int)) {
	threads = min(threads, rows, rows*cols/minRowsWork+1)
	if threads <= 1 {
		withDefaultFPMode(func() { run(0, rows) })
		return
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		panicked any
	)
	for i := range threads {
		lo, hi := rows*i/threads, rows*(i+1)/threads
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					panicked = r
					mu.Unlock()
				}
			}()
			withDefaultFPMode(func() { run(lo, hi) })
		})
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
}
