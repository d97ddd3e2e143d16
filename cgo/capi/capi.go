// Package capi exports the goloss core through the C ABI declared in
// cgo/include/goloss.h. The shared library libgoloss.so is this package
// built with -buildmode=c-shared (see the main package in cgo/); a Go program
// that loads the TensorFlow op imports this package instead, so that the op
// finds the kernels in the process and no second Go runtime is loaded.
//
// The //export functions take cgo's non-const prototypes; shim.c defines the
// header's const-correct functions on top of them. Go never keeps a C pointer
// after returning, and every export turns a panic into GOLOSS_ERR_INTERNAL.
package capi

/*
#cgo CFLAGS: -I${SRCDIR}/../include -O2 -Wall -Werror
// The op looks the kernels up with dlsym(RTLD_DEFAULT, ...): a Go executable
// that links this package must export the shim's symbols dynamically.
#cgo LDFLAGS: -rdynamic
#include "goloss.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync/atomic"
	"unsafe"

	"github.com/gofocal/gofocal/goloss"
)

// status maps a core error to its C status code.
func status(err error) C.int {
	switch {
	case err == nil:
		return C.GOLOSS_OK
	case errors.Is(err, errArgument):
		return C.GOLOSS_ERR_ARGUMENT
	case errors.Is(err, goloss.ErrShape):
		return C.GOLOSS_ERR_SHAPE
	case errors.Is(err, goloss.ErrParam):
		return C.GOLOSS_ERR_PARAM
	case errors.Is(err, goloss.ErrValue):
		return C.GOLOSS_ERR_VALUE
	default:
		return C.GOLOSS_ERR_INTERNAL
	}
}

var errArgument = errors.New("invalid argument")

// writeMessage copies msg into the caller's buffer, truncated and
// NUL-terminated.
func writeMessage(buf *C.char, size C.size_t, msg string) {
	if buf == nil || size == 0 {
		return
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(min(size, C.size_t(math.MaxInt32))))
	n := copy(dst[:len(dst)-1], msg)
	dst[n] = 0
}

// testPanics is a test hook: the next GOLOSS_TEST_PANICS calls (the
// environment variable's value when the library loads) panic inside the
// core, so that tests at every layer can show that a panic reaches the
// caller as an error and that the next call works.
var testPanics atomic.Int64

func init() {
	if n, err := strconv.Atoi(os.Getenv("GOLOSS_TEST_PANICS")); err == nil && n > 0 {
		testPanics.Store(int64(n))
	}
}

// call runs fn, turning an error or a panic into a status code and a message.
func call(err *C.char, errLen C.size_t, fn func() error) (code C.int) {
	defer func() {
		if r := recover(); r != nil {
			writeMessage(err, errLen, fmt.Sprintf("goloss: internal error: %v", r))
			code = C.GOLOSS_ERR_INTERNAL
		}
	}()
	if testPanics.Load() > 0 && testPanics.Add(-1) >= 0 {
		panic("a panic provoked by GOLOSS_TEST_PANICS")
	}
	if e := fn(); e != nil {
		writeMessage(err, errLen, "goloss: "+e.Error())
		return status(e)
	}
	return C.GOLOSS_OK
}

// view returns the n values at p as a slice; nil p is an error unless n == 0.
func view[T any](name string, p *T, n int) ([]T, error) {
	if n == 0 {
		return nil, nil
	}
	if p == nil {
		return nil, fmt.Errorf("%w: %s is NULL for %d values", errArgument, name, n)
	}
	return unsafe.Slice(p, n), nil
}

// size returns rows*cols, or an error for negative or overflowing sizes.
func size(rows, cols C.int64_t) (int, error) {
	if rows < 0 || cols < 0 {
		return 0, fmt.Errorf("%w: rows = %d and cols = %d, want sizes >= 0", errArgument, rows, cols)
	}
	if cols > 0 && int64(rows) > math.MaxInt32*int64(math.MaxInt32)/int64(cols) {
		return 0, fmt.Errorf("%w: rows %d × cols %d overflows", goloss.ErrShape, rows, cols)
	}
	return int(rows) * int(cols), nil
}

//export golossGoABIVersion
func golossGoABIVersion() C.int { return C.GOLOSS_ABI_VERSION }

//export golossGoVersion
func golossGoVersion(buf *C.char, size C.size_t) C.int {
	if buf == nil || size == 0 {
		return C.GOLOSS_ERR_ARGUMENT
	}
	writeMessage(buf, size, goloss.Version)
	return C.GOLOSS_OK
}

//export golossGoKernel
func golossGoKernel(buf *C.char, size C.size_t) C.int {
	if buf == nil || size == 0 {
		return C.GOLOSS_ERR_ARGUMENT
	}
	writeMessage(buf, size, goloss.Kernel())
	return C.GOLOSS_OK
}

//export golossGoClassWeights
func golossGoClassWeights(weights, counts *C.double, classes C.int64_t, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		if classes < 1 {
			return fmt.Errorf("%w: %d classes, want at least 1", goloss.ErrShape, classes)
		}
		n, e := size(1, classes)
		if e != nil {
			return e
		}
		dst, e := view("weights", (*float64)(weights), n)
		if e != nil {
			return e
		}
		src, e := view("counts", (*float64)(counts), n)
		if e != nil {
			return e
		}
		return goloss.ClassWeights(dst, src)
	})
}

//export golossGoSeedCheck
func golossGoSeedCheck(params *C.goloss_seed_params, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		if params == nil {
			return fmt.Errorf("%w: params is NULL", errArgument)
		}
		return seedParams(params).Check()
	})
}

func seedParams(p *C.goloss_seed_params) goloss.Seed {
	return goloss.Seed{Gamma: float64(p.gamma), E: float64(p.e), NoValidate: p.validate == 0, Threads: int(p.threads)}
}

// buffers are the C buffers every loss function takes, as Go slices.
type buffers[T goloss.Float] struct {
	loss, grad, labels, preds []T
}

// views checks the sizes and returns the buffers of one call as slices; grad
// may be NULL (no gradient), the others only when rows = 0.
func views[T goloss.Float](loss, grad, labels, preds *T, rows, cols C.int64_t) (b buffers[T], err error) {
	if cols < 1 {
		return b, fmt.Errorf("%w: cols = %d, want at least 1 class", goloss.ErrShape, cols)
	}
	n, err := size(rows, cols)
	if err != nil {
		return b, err
	}
	if b.loss, err = view("loss", loss, int(rows)); err != nil {
		return b, err
	}
	if grad != nil {
		if b.grad, err = view("grad", grad, n); err != nil {
			return b, err
		}
	}
	if b.labels, err = view("labels", labels, n); err != nil {
		return b, err
	}
	b.preds, err = view("predictions", preds, n)
	return b, err
}

// seed adapts one C call of the seed variant to goloss.SeedLossGrad.
func seed[T goloss.Float](loss, grad, labels, preds, weights *T, rows, cols C.int64_t, params *C.goloss_seed_params) error {
	if params == nil {
		return fmt.Errorf("%w: params is NULL", errArgument)
	}
	b, err := views(loss, grad, labels, preds, rows, cols)
	if err != nil {
		return err
	}
	w, err := view("weights", weights, int(cols))
	if err != nil {
		return err
	}
	return goloss.SeedLossGrad(b.loss, b.grad, b.labels, b.preds, w, int(cols), seedParams(params))
}

//export golossGoSeedF32
func golossGoSeedF32(loss, grad, labels, preds, weights *C.float, rows, cols C.int64_t, params *C.goloss_seed_params, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		f := func(p *C.float) *float32 { return (*float32)(unsafe.Pointer(p)) }
		return seed(f(loss), f(grad), f(labels), f(preds), f(weights), rows, cols, params)
	})
}

//export golossGoSeedF64
func golossGoSeedF64(loss, grad, labels, preds, weights *C.double, rows, cols C.int64_t, params *C.goloss_seed_params, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		f := func(p *C.double) *float64 { return (*float64)(unsafe.Pointer(p)) }
		return seed(f(loss), f(grad), f(labels), f(preds), f(weights), rows, cols, params)
	})
}

// binaryParams converts the C parameters; alpha stays a view of C memory.
func binaryParams(params *C.goloss_binary_params) (goloss.Binary, error) {
	if params == nil {
		return goloss.Binary{}, fmt.Errorf("%w: params is NULL", errArgument)
	}
	if params.alpha_len < 0 {
		return goloss.Binary{}, fmt.Errorf("%w: alpha_len = %d, want a size >= 0", errArgument, params.alpha_len)
	}
	alpha, err := view("alpha", (*float64)(unsafe.Pointer(params.alpha)), int(params.alpha_len))
	return goloss.Binary{
		Gamma:          float64(params.gamma),
		Alpha:          alpha,
		FromLogits:     params.from_logits != 0,
		LabelSmoothing: float64(params.label_smoothing),
		NoValidate:     params.validate == 0,
		Threads:        int(params.threads),
	}, err
}

//export golossGoBinaryCheck
func golossGoBinaryCheck(params *C.goloss_binary_params, cols C.int64_t, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		prm, e := binaryParams(params)
		if e != nil {
			return e
		}
		return prm.Check(int(cols))
	})
}

// binary adapts one C call of the binary variant to goloss.BinaryLossGrad.
func binary[T goloss.Float](loss, grad, labels, preds *T, rows, cols C.int64_t, params *C.goloss_binary_params) error {
	prm, err := binaryParams(params)
	if err != nil {
		return err
	}
	b, err := views(loss, grad, labels, preds, rows, cols)
	if err != nil {
		return err
	}
	return goloss.BinaryLossGrad(b.loss, b.grad, b.labels, b.preds, int(cols), prm)
}

//export golossGoBinaryF32
func golossGoBinaryF32(loss, grad, labels, preds *C.float, rows, cols C.int64_t, params *C.goloss_binary_params, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		f := func(p *C.float) *float32 { return (*float32)(unsafe.Pointer(p)) }
		return binary(f(loss), f(grad), f(labels), f(preds), rows, cols, params)
	})
}

//export golossGoBinaryF64
func golossGoBinaryF64(loss, grad, labels, preds *C.double, rows, cols C.int64_t, params *C.goloss_binary_params, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		f := func(p *C.double) *float64 { return (*float64)(unsafe.Pointer(p)) }
		return binary(f(loss), f(grad), f(labels), f(preds), rows, cols, params)
	})
}
