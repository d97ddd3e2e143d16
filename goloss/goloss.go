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
	"runtime"
	"sync"
	"sync/atomic"
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

// checkGradScale returns an error unless the gradient scale s is 0 (none)
// or finite and > 0.
func checkGradScale(s float64) error {
	if s != 0 && !(s > 0 && !math.IsInf(s, 1)) {
		return fmt.Errorf("%w: grad_scale = %v, want a finite grad_scale > 0 (0 for none)", ErrParam, s)
	}
	return nil
}

// gradScaleOf returns the gradient scale s (checked by checkGradScale)
// rounded to T, 1 for 0, or an error if the rounding gives 0 or Inf.
func gradScaleOf[T Float](s float64) (T, error) {
	if s == 0 {
		return 1, nil
	}
	c := T(s)
	if c == 0 || math.IsInf(float64(c), 1) {
		return 0, fmt.Errorf("%w: grad_scale = %v is %v in %T, want a finite value > 0", ErrParam, s, c, c)
	}
	return c, nil
}

// scaleBlockValues bounds the gradient values scaledRows computes before
// it scales them, so that they are still in cache (64 KiB of float32).
const scaleBlockValues = 1 << 14

// scaledRows returns run, or, when c is not 1 and there is a gradient, run
// over blocks of at most scaleBlockValues values each followed by
// grad[block] *= c (scaleGrad), so that the product costs no pass over
// memory. Rows are independent: the bits do not depend on the blocks.
func scaledRows[T Float](run func(lo, hi int), grad []T, cols int, c T) func(lo, hi int) {
	if c == 1 || len(grad) == 0 {
		return run
	}
	block := max(1, scaleBlockValues/cols)
	return func(lo, hi int) {
		for b := lo; b < hi; b += block {
			e := min(b+block, hi)
			run(b, e)
			scaleGrad(grad[b*cols:e*cols], c)
		}
	}
}

// checkGamma returns an error unless gamma is finite and >= 0.
func checkGamma(gamma float64) error { return checkNonNegative("gamma", gamma) }

// checkNonNegative returns an error naming the parameter called name unless
// v is finite and >= 0.
func checkNonNegative(name string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 1) {
		return fmt.Errorf("%w: %s = %v, want a finite %s >= 0", ErrParam, name, v, name)
	}
	return nil
}

// checkIgnore returns an error for an ignore value that no label can equal:
// NaN equals nothing, not even a NaN label, so it would ignore nothing.
func checkIgnore(has bool, v float64) error {
	if has && math.IsNaN(v) {
		return fmt.Errorf("%w: ignore_value = NaN, want a number (no label equals NaN)", ErrParam)
	}
	return nil
}

// unknownLabel is the ignore value of one call: a label equal to it marks an
// element whose label is unknown. The value is rounded to the element type
// T, as TensorFlow rounds a Python constant compared with a tensor, so that
// the labels of T that equal it are those that equal T(ignore_value).
type unknownLabel struct {
	set   bool
	value float64 // float64(T(ignore_value))
}

// unknownOf returns the unknownLabel of an ignore value for element type T.
func unknownOf[T Float](has bool, v float64) unknownLabel {
	if !has {
		return unknownLabel{}
	}
	return unknownLabel{set: true, value: float64(T(v))}
}

// is reports whether the label y marks an unknown element.
func (u unknownLabel) is(y float64) bool { return u.set && y == u.value }

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
	return checkUnitValues(preds, cols, threads, "predictions", "is not a probability in [0, 1]", unknownLabel{})
}

// checkUnitValues returns an error naming the first finite value outside
// [0, 1] as "name[row, col] = v why"; NaN and ±Inf pass, and so does a value
// that skip says is an unknown label. The rows are checked in up to threads
// chunks at once, each first by the vector kernel's quick pass.
func checkUnitValues[T Float](values []T, cols, threads int, name, why string, skip unknownLabel) error {
	rows := len(values) / cols
	var (
		mu    sync.Mutex
		first = rows // the row of err
		err   error
	)
	forRowChunks(rows, cols, threads, func(lo, hi int) {
		if inUnitRangeOr(values[lo*cols:hi*cols], skip) {
			return // nothing to name
		}
		for i, v := range values[lo*cols : hi*cols] {
			if v >= 0 && v <= 1 || v != v || math.IsInf(float64(v), 0) || skip.is(float64(v)) {
				continue
			}
			at := lo*cols + i
			mu.Lock()
			if at/cols < first {
				first = at / cols
				err = fmt.Errorf("%w: %s[%d, %d] = %v %s", ErrValue, name, at/cols, at%cols, v, why)
			}
			mu.Unlock()
			return
		}
	})
	return err
}

// checkedRows runs run over the rows of preds, in parallel as forRowChunks
// does, after checking that they are probabilities when validate is set: in
// one start-up of the goroutines, the quick vector check of every block
// comes first, and only if one fails does checkProbabilities look for the
// first offending index. On error nothing has been run.
func checkedRows[T Float](preds []T, cols, threads int, validate bool, run func(lo, hi int)) error {
	var check func(lo, hi int) bool
	if validate {
		check = func(lo, hi int) bool { return inUnitRange(preds[lo*cols : hi*cols]) }
	}
	return checkedRowsBy(preds, cols, threads, check, run, run)
}

// checkedRowsBy is checkedRows with its quick check given: check(lo, hi)
// reports whether rows lo to hi surely hold probabilities (false: look
// closer), nil for no check. run runs the rows after every check passed;
// rerun, after one failed and checkProbabilities then found no error (±Inf,
// which propagates), so it may not use what check left behind.
func checkedRowsBy[T Float](preds []T, cols, threads int, check func(lo, hi int) bool, run, rerun func(lo, hi int)) error {
	rows := len(preds) / cols
	if forRowChunksChecked(rows, cols, threads, check, run) {
		return nil
	}
	// The quick check also fails on ±Inf, which propagates rather than
	// being an error: then the rows still run.
	if err := checkProbabilities(preds, cols, threads); err != nil {
		return err
	}
	forRowChunks(rows, cols, threads, rerun)
	return nil
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

// blocksPerThread is how many blocks of rows forRowChunks makes per thread,
// so that a thread that starts late (a goroutine waits for an idle thread
// to wake up, 50-300 µs on the 2-core VMs measured) or runs slower takes
// fewer of them, and the last block, which one thread finishes while the
// others wait, is short (1024x1000 on 2 threads: 62 blocks of about 20 µs).
const blocksPerThread = 32

// spinWaits bounds the busy-wait loops of forRowChunksChecked (about 0.1-1
// ms of atomic loads) before they yield to the scheduler.
const spinWaits = 1 << 18

// forRowChunks runs run over [0, rows) in blocks of contiguous rows, on up
// to threads goroutines (the calling one and threads-1 others) that each
// take the next block until none is left, and returns when all are done.
// Rows are independent and every block runs in the default floating-point
// mode, so the results have the same bits for any number of threads on any
// thread. A panic in a block stops the handing out of blocks and is raised
// again on the calling goroutine, where callers recover it.
func forRowChunks(rows, cols, threads int, run func(lo, hi int)) {
	forRowChunksChecked(rows, cols, threads, nil, run)
}

// forRowChunksChecked is forRowChunks with a first phase: check runs over
// every block, and only if it returns true for all of them does run, on the
// same goroutines (one start-up for both phases). It returns false, having
// run nothing, when check failed somewhere. A nil check passes.
//
// The other threads are helpers parked on pipes (runHelpers, see
// helpers_unix.go), or, when those are busy or absent, goroutines started
// for the call. How they start and wait matters more than it seems when the
// caller is a C thread (the TensorFlow op), measured in the op on a 2-core
// VM (1024x1000 seed, runtime trace and timestamps): with a goroutine per
// call, the second one started 250-290 µs into an 830 µs call, and the
// call took 730 µs once these waits were changed:
//   - A new goroutine goes to its P's runnext slot, which another P steals
//     only after usleep(3) (80-100 µs where the timer slack is 50 µs). A
//     no-op goroutine started after the workers takes that slot, so the
//     workers sit in the run queue, taken at once.
//   - Between the phases a goroutine waits at most for one block being
//     checked: it spins. Gosched there, from a goroutine locked to a C
//     thread (a cgo callback), hands its P to another thread and back, two
//     thread wake-ups each time.
//   - The caller spins while a helper that has started runs its last
//     block, before parking in the wait, for the same reason.
func forRowChunksChecked(rows, cols, threads int, check func(lo, hi int) bool, run func(lo, hi int)) bool {
	threads = min(threads, rows, rows*cols/minRowsWork+1, runtime.GOMAXPROCS(0))
	if threads <= 1 {
		ok := true
		withDefaultFPMode(func() {
			if ok = check == nil || check(0, rows); ok {
				run(0, rows)
			}
		})
		return ok
	}
	blocks := min(rows, threads*blocksPerThread, max(rows*cols/minRowsWork, threads))
	var (
		next, nextRun atomic.Int64 // the next block to check, to run
		checked       atomic.Int64 // blocks checked
		bad, stop     atomic.Bool
		wg            sync.WaitGroup
		mu            sync.Mutex
		panicked      any
	)
	if check == nil {
		next.Store(int64(blocks)) // no first phase
		checked.Store(int64(blocks))
	}
	work := func() {
		defer func() {
			if r := recover(); r != nil {
				stop.Store(true)
				mu.Lock()
				panicked = r
				mu.Unlock()
			}
		}()
		withDefaultFPMode(func() {
			// Phase 1: check.
			for !stop.Load() {
				b := int(next.Add(1) - 1)
				if b >= blocks {
					break
				}
				if !check(rows*b/blocks, rows*(b+1)/blocks) {
					bad.Store(true)
				}
				checked.Add(1)
			}
			// Wait for the blocks other goroutines are checking.
			for spins := 0; checked.Load() < int64(blocks) && !stop.Load(); spins++ {
				if spins > spinWaits {
					runtime.Gosched()
				}
			}
			if bad.Load() {
				return
			}
			// Phase 2: run.
			for !stop.Load() {
				b := int(nextRun.Add(1) - 1)
				if b >= blocks {
					return
				}
				run(rows*b/blocks, rows*(b+1)/blocks)
			}
		})
	}
	var running atomic.Int64 // helpers started and not yet done
	helper := func() {
		running.Add(1)
		defer running.Add(-1)
		work()
	}
	wait, ok := runHelpers(threads-1, helper)
	if !ok {
		for range threads - 1 {
			wg.Go(helper)
		}
		go func() {}() // takes the runnext slot (see above)
		wait = wg.Wait
	}
	work()
	// A helper that has not started by now finds no block left: only a
	// running one is worth spinning for.
	for spins := 0; running.Load() > 0 && spins < spinWaits; spins++ {
	}
	wait()
	if panicked != nil {
		panic(panicked)
	}
	return !bad.Load()
}
