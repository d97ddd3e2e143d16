// Package capi exports the goloss core through the C ABI declared in
// cgo/include/goloss.h. The shared library libgoloss.so is this package
// built with -buildmode=c-shared (see the main package in cgo/); a Go program
// that loads the TensorFlow op imports this package instead, so that the op
// finds the kernels in the process and no second Go runtime is loaded.
//
// The //export functions take cgo's non-const prototypes; shim.c defines the
// header's const-correct functions on top of them, and answers in C what must
// not enter Go: goloss_abi_version, and GOLOSS_ERR_PROCESS in a child forked
// after the library loaded (a Go runtime does not survive fork()), for which
// Go has no error of its own. Go never keeps a C pointer after returning, and
// every export turns a panic into GOLOSS_ERR_INTERNAL.
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
	"math/bits"
	"strconv"
	"unsafe"

	"github.com/gofocal/gofocal/goloss"
)

// status maps a core error to its C status code. GOLOSS_ERR_PROCESS has no
// Go error: shim.c returns it before Go runs.
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

// call runs fn, turning an error or a panic into a status code and a message.
func call(err *C.char, errLen C.size_t, fn func() error) (code C.int) {
	defer func() {
		if r := recover(); r != nil {
			writeMessage(err, errLen, fmt.Sprintf("goloss: internal error: %v", r))
			code = C.GOLOSS_ERR_INTERNAL
		}
	}()
	testHookPanic() // nothing, unless built with the goloss_testhooks tag
	if e := fn(); e != nil {
		writeMessage(err, errLen, "goloss: "+e.Error())
		return status(e)
	}
	return C.GOLOSS_OK
}

// view returns the n values at p as a slice; nil p is an error unless n == 0.
// n comes from matrixLen or vectorLen, which hold it to what fits in memory.
func view[T any](name string, p *T, n int) ([]T, error) {
	if n == 0 {
		return nil, nil
	}
	if p == nil {
		return nil, fmt.Errorf("%w: %s is NULL for %d values", errArgument, name, n)
	}
	return unsafe.Slice(p, n), nil
}

// maxBytes bounds the bytes of one C buffer: 2^47 (128 TiB, the user-space
// address space of x86-64 with 4-level page tables; arm64 has 2^48) on a
// 64-bit system, Go's int on a 32-bit one. No buffer a caller owns is
// larger, and unsafe.Slice would panic on a length beyond the address space:
// a claimed size beyond it is a shape error, before any pointer becomes a
// slice.
const maxBytes = min(1<<47, math.MaxInt)

// fitLimit is how many values of type T fit in maxBytes.
func fitLimit[T any]() uint64 {
	var v T
	return maxBytes / uint64(unsafe.Sizeof(v))
}

// matrixLen returns rows*cols, the values of T that a rows × cols buffer
// holds: an error for a negative size, or for a buffer that does not fit in
// memory (naming rows and cols).
func matrixLen[T any](rows, cols C.int64_t) (int, error) {
	if rows < 0 || cols < 0 {
		return 0, fmt.Errorf("%w: rows = %d and cols = %d, want sizes >= 0", errArgument, rows, cols)
	}
	hi, n := bits.Mul64(uint64(rows), uint64(cols))
	if hi == 0 && n <= fitLimit[T]() {
		return int(n), nil
	}
	values := strconv.FormatUint(n, 10)
	if hi != 0 {
		values = fmt.Sprintf("about %.4g", float64(rows)*float64(cols))
	}
	var v T
	return 0, fmt.Errorf("%w: rows %d × cols %d = %s values of %d bytes do not fit in memory (%d bytes at most)",
		goloss.ErrShape, rows, cols, values, unsafe.Sizeof(v), uint64(maxBytes))
}

// vectorLen returns n, the number of values of T in the vector called name,
// whose length is the argument called size: an error for a negative n, or
// for a vector that does not fit in memory.
func vectorLen[T any](name, size string, n C.int64_t) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("%w: %s = %d, want a size >= 0", errArgument, size, n)
	}
	if uint64(n) > fitLimit[T]() {
		var v T
		return 0, fmt.Errorf("%w: %s: %s = %d values of %d bytes do not fit in memory (%d bytes at most)",
			goloss.ErrShape, name, size, n, unsafe.Sizeof(v), uint64(maxBytes))
	}
	return int(n), nil
}

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
		dst, src, e := countViews(weights, counts, classes)
		if e != nil {
			return e
		}
		return goloss.ClassWeights(dst, src)
	})
}

//export golossGoClassWeightsBeta
func golossGoClassWeightsBeta(weights, counts *C.double, classes C.int64_t, beta C.double, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		dst, src, e := countViews(weights, counts, classes)
		if e != nil {
			return e
		}
		return goloss.ClassWeightsBeta(dst, src, float64(beta))
	})
}

// countViews checks classes and returns the weights and counts of one call
// of the class-weight functions as slices.
func countViews(weights, counts *C.double, classes C.int64_t) (dst, src []float64, err error) {
	if classes < 1 {
		return nil, nil, fmt.Errorf("%w: %d classes, want at least 1", goloss.ErrShape, classes)
	}
	n, err := vectorLen[float64]("counts and weights", "classes", classes)
	if err != nil {
		return nil, nil, err
	}
	if dst, err = view("weights", (*float64)(weights), n); err != nil {
		return nil, nil, err
	}
	src, err = view("counts", (*float64)(counts), n)
	return dst, src, err
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
	return goloss.Seed{Gamma: float64(p.gamma), E: float64(p.e), HasIgnore: p.has_ignore != 0,
		IgnoreValue: float64(p.ignore_value), NoValidate: p.validate == 0, Threads: int(p.threads),
		GradScale: float64(p.grad_scale)}
}

// buffers are the C buffers every loss function takes, as Go slices.
type buffers[T goloss.Float] struct {
	loss, grad, labels, preds []T
}

// views checks the sizes and returns the buffers of one call as slices; grad
// may be NULL (no gradient), the others only when rows = 0. Every size is
// held to what fits in memory before any pointer becomes a slice.
func views[T goloss.Float](loss, grad, labels, preds *T, rows, cols C.int64_t) (b buffers[T], err error) {
	if cols < 1 {
		return b, fmt.Errorf("%w: cols = %d, want at least 1 class", goloss.ErrShape, cols)
	}
	n, err := matrixLen[T](rows, cols) // labels, predictions and grad
	if err != nil {
		return b, err
	}
	nLoss, err := vectorLen[T]("loss", "rows", rows) // fits when the matrix does: cols >= 1
	if err != nil {
		return b, err
	}
	if b.loss, err = view("loss", loss, nLoss); err != nil {
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

// seed adapts one C call of the seed variant to goloss.SeedLossGrad. An
// empty batch needs no weights: with rows = 0 and weights NULL only the
// parameters are checked (weights that are given are checked too, by the
// core).
func seed[T goloss.Float](loss, grad, labels, preds, weights *T, rows, cols C.int64_t, params *C.goloss_seed_params) error {
	if params == nil {
		return fmt.Errorf("%w: params is NULL", errArgument)
	}
	b, err := views(loss, grad, labels, preds, rows, cols)
	if err != nil {
		return err
	}
	nWeights, err := vectorLen[T]("weights", "cols", cols) // rows may be 0: cols alone
	if err != nil {
		return err
	}
	prm := seedParams(params)
	if rows == 0 && weights == nil {
		return prm.Check()
	}
	w, err := view("weights", weights, nWeights)
	if err != nil {
		return err
	}
	return goloss.SeedLossGrad(b.loss, b.grad, b.labels, b.preds, w, int(cols), prm)
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
	n, err := vectorLen[float64]("alpha", "alpha_len", params.alpha_len)
	if err != nil {
		return goloss.Binary{}, err
	}
	alpha, err := view("alpha", (*float64)(unsafe.Pointer(params.alpha)), n)
	return goloss.Binary{
		Gamma:          float64(params.gamma),
		Alpha:          alpha,
		FromLogits:     params.from_logits != 0,
		LabelSmoothing: float64(params.label_smoothing),
		HasIgnore:      params.has_ignore != 0,
		IgnoreValue:    float64(params.ignore_value),
		NoValidate:     params.validate == 0,
		Threads:        int(params.threads),
		GradScale:      float64(params.grad_scale),
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

// asymmetricParams converts the C parameters.
func asymmetricParams(p *C.goloss_asymmetric_params) (goloss.Asymmetric, error) {
	if p == nil {
		return goloss.Asymmetric{}, fmt.Errorf("%w: params is NULL", errArgument)
	}
	return goloss.Asymmetric{
		GammaNeg:    float64(p.gamma_neg),
		GammaPos:    float64(p.gamma_pos),
		Clip:        float64(p.clip),
		Eps:         float64(p.eps),
		FocalGrad:   p.focal_grad != 0,
		FromLogits:  p.from_logits != 0,
		HasIgnore:   p.has_ignore != 0,
		IgnoreValue: float64(p.ignore_value),
		NoValidate:  p.validate == 0,
		Threads:     int(p.threads),
		GradScale:   float64(p.grad_scale),
	}, nil
}

//export golossGoAsymmetricCheck
func golossGoAsymmetricCheck(params *C.goloss_asymmetric_params, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		prm, e := asymmetricParams(params)
		if e != nil {
			return e
		}
		return prm.Check()
	})
}

// asymmetric adapts one C call of the asymmetric variant to
// goloss.AsymmetricLossGrad. NULL class weights are weights of 1, for any
// rows; weights that are given hold cols values.
func asymmetric[T goloss.Float](loss, grad, labels, preds, weights *T, rows, cols C.int64_t, params *C.goloss_asymmetric_params) error {
	prm, err := asymmetricParams(params)
	if err != nil {
		return err
	}
	b, err := views(loss, grad, labels, preds, rows, cols)
	if err != nil {
		return err
	}
	var w []T
	if weights != nil {
		n, err := vectorLen[T]("class_weights", "cols", cols) // rows may be 0: cols alone
		if err != nil {
			return err
		}
		if w, err = view("class_weights", weights, n); err != nil {
			return err
		}
	}
	return goloss.AsymmetricLossGrad(b.loss, b.grad, b.labels, b.preds, w, int(cols), prm)
}

//export golossGoAsymmetricF32
func golossGoAsymmetricF32(loss, grad, labels, preds, weights *C.float, rows, cols C.int64_t, params *C.goloss_asymmetric_params, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		f := func(p *C.float) *float32 { return (*float32)(unsafe.Pointer(p)) }
		return asymmetric(f(loss), f(grad), f(labels), f(preds), f(weights), rows, cols, params)
	})
}

//export golossGoAsymmetricF64
func golossGoAsymmetricF64(loss, grad, labels, preds, weights *C.double, rows, cols C.int64_t, params *C.goloss_asymmetric_params, err *C.char, errLen C.size_t) C.int {
	return call(err, errLen, func() error {
		f := func(p *C.double) *float64 { return (*float64)(unsafe.Pointer(p)) }
		return asymmetric(f(loss), f(grad), f(labels), f(preds), f(weights), rows, cols, params)
	})
}
