// Package abifuzz calls the C ABI of goloss.h the way a C program does, with
// buffers in C memory, so that Go's fuzzer can drive it. It exists for the
// tests of this folder; nothing else imports it.
package abifuzz

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#include <stdlib.h>
#include <string.h>
#include "goloss.h"
*/
import "C"

import (
	"unsafe"

	_ "github.com/gofocal/gofocal/cgo/capi" // the functions of goloss.h
)

// Guard is written around every output buffer; the ABI must never touch it.
const Guard = 12345.0

// Call is one call of a loss function of the ABI.
type Call struct {
	Variant        string // "seed", "binary" or "asymmetric"
	Float32        bool
	Rows, Cols     int64 // passed as they are, negative ones included
	Labels, Preds  []float64
	Weights        []float64 // seed and asymmetric: class weights
	Gamma, E       float64   // E is label smoothing for the binary variant; asymmetric: Gamma is gamma_neg
	Alpha          []float64 // binary
	GammaPos, Clip float64   // asymmetric
	Eps            float64   // asymmetric: the clamp of the logs (0: the default, 1e-8)
	GradScale      float64   // grad_scale of every variant (0: none)
	FocalGrad      bool      // asymmetric
	FromLogits     bool
	Validate       bool
	// HasIgnore and IgnoreValue are the has_ignore and ignore_value of
	// every variant's parameters.
	HasIgnore      bool
	IgnoreValue    float64
	NilPredictions bool // pass NULL for the predictions
	NilWeights     bool // pass NULL for the class weights (seed, asymmetric) or alpha (binary)
	// AlphaLen, when nonzero, is passed as alpha_len instead of len(Alpha):
	// for sizes the ABI must reject, since alpha holds len(Alpha) values.
	AlphaLen  int64
	NilParams bool
	WithGrad  bool
	Threads   int
}

// Result is what came back: the status, the message, the outputs, and
// whether the guards around the outputs are intact.
type Result struct {
	Status      int
	Message     string
	Loss, Grad  []float64
	GuardsWhole bool
	Terminated  bool // the message buffer holds a NUL
}

// buffer is n values of one element type in C memory, plus a guard value on
// each side.
type buffer struct {
	p       unsafe.Pointer
	n       int
	float32 bool
}

func newBuffer(values []float64, n int, f32 bool) buffer {
	size := 8
	if f32 {
		size = 4
	}
	b := buffer{p: C.malloc(C.size_t((n + 2) * size)), n: n, float32: f32}
	for i := -1; i <= n; i++ {
		v := Guard
		if i >= 0 && i < n {
			v = 0
			if i < len(values) {
				v = values[i]
			}
		}
		b.set(i, v)
	}
	return b
}

func (b buffer) set(i int, v float64) {
	if b.float32 {
		*(*float32)(unsafe.Add(b.p, 4*(i+1))) = float32(v)
	} else {
		*(*float64)(unsafe.Add(b.p, 8*(i+1))) = v
	}
}

func (b buffer) get(i int) float64 {
	if b.float32 {
		return float64(*(*float32)(unsafe.Add(b.p, 4*(i+1))))
	}
	return *(*float64)(unsafe.Add(b.p, 8*(i+1)))
}

// data is the pointer to the first value (after the guard).
func (b buffer) data() unsafe.Pointer {
	if b.float32 {
		return unsafe.Add(b.p, 4)
	}
	return unsafe.Add(b.p, 8)
}

func (b buffer) values() []float64 {
	out := make([]float64, b.n)
	for i := range out {
		out[i] = b.get(i)
	}
	return out
}

func (b buffer) guarded() bool { return b.get(-1) == Guard && b.get(b.n) == Guard }

func (b buffer) free() { C.free(b.p) }

// ProcessCheck calls goloss_process_check: in this process, which loaded
// the functions itself (no fork), it must say GOLOSS_OK.
func ProcessCheck() (status int, message string) {
	const errLen = 512
	msg := (*C.char)(C.calloc(errLen, 1))
	defer C.free(unsafe.Pointer(msg))
	status = int(C.goloss_process_check(msg, errLen))
	return status, C.GoString(msg)
}

// cBool is a C truth value.
func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ClassWeightsBeta calls goloss_class_weights_beta with the counts in C
// memory and classes as given; the weights come back in Result.Loss,
// guarded as Run guards its outputs.
func ClassWeightsBeta(counts []float64, classes int64, beta float64) Result {
	n := len(counts)
	src := newBuffer(counts, n, false)
	dst := newBuffer(nil, n, false)
	defer src.free()
	defer dst.free()
	for i := range n {
		dst.set(i, Guard)
	}
	const errLen = 256
	msg := (*C.char)(C.malloc(errLen))
	defer C.free(unsafe.Pointer(msg))
	C.memset(unsafe.Pointer(msg), 'x', errLen)
	status := C.goloss_class_weights_beta((*C.double)(dst.data()), (*C.double)(src.data()), C.int64_t(classes), C.double(beta), msg, errLen)
	r := Result{Status: int(status), Loss: dst.values(), GuardsWhole: dst.guarded()}
	raw := C.GoBytes(unsafe.Pointer(msg), errLen)
	for i, ch := range raw {
		if ch == 0 {
			r.Terminated, r.Message = true, string(raw[:i])
			break
		}
	}
	return r
}

// ABIVersion is goloss_abi_version().
func ABIVersion() int { return int(C.goloss_abi_version()) }

// Run makes the call. Sizes that do not fit the slices are still passed to
// the ABI as given; the buffers are sized to what the ABI may touch when the
// sizes are valid, and to nothing otherwise.
func Run(c Call) Result {
	n := 0
	if c.Rows >= 0 && c.Cols >= 0 && c.Rows < 1<<16 && c.Cols < 1<<16 {
		n = int(c.Rows * c.Cols)
	}
	rows := 0
	if c.Rows > 0 && c.Rows < 1<<16 {
		rows = int(c.Rows)
	}
	cols := 0
	if c.Cols > 0 && c.Cols < 1<<16 {
		cols = int(c.Cols)
	}
	loss := newBuffer(nil, rows, c.Float32)
	grad := newBuffer(nil, n, c.Float32)
	labels := newBuffer(c.Labels, n, c.Float32)
	preds := newBuffer(c.Preds, n, c.Float32)
	weights := newBuffer(c.Weights, cols, c.Float32)
	alpha := newBuffer(c.Alpha, len(c.Alpha), false)
	for i := range loss.n {
		loss.set(i, Guard)
	}
	for _, b := range []buffer{loss, grad, labels, preds, weights, alpha} {
		defer b.free()
	}
	const errLen = 256
	msg := (*C.char)(C.malloc(errLen))
	defer C.free(unsafe.Pointer(msg))
	C.memset(unsafe.Pointer(msg), 'x', errLen)

	predPtr := preds.data()
	if c.NilPredictions {
		predPtr = nil
	}
	weightsPtr, alphaPtr := weights.data(), alpha.data()
	if c.NilWeights {
		weightsPtr, alphaPtr = nil, nil
	}
	alphaLen := int64(len(c.Alpha))
	if c.AlphaLen != 0 {
		alphaLen = c.AlphaLen
	}
	var gradPtr unsafe.Pointer
	if c.WithGrad {
		gradPtr = grad.data()
	}
	validate, fromLogits, hasIgnore := cBool(c.Validate), cBool(c.FromLogits), cBool(c.HasIgnore)
	var status C.goloss_status
	switch c.Variant {
	case "seed":
		params := (*C.goloss_seed_params)(C.malloc(C.sizeof_goloss_seed_params))
		defer C.free(unsafe.Pointer(params))
		*params = C.goloss_seed_params{gamma: C.double(c.Gamma), e: C.double(c.E), validate: validate, threads: C.int(c.Threads),
			has_ignore: hasIgnore, ignore_value: C.double(c.IgnoreValue), grad_scale: C.double(c.GradScale)}
		if c.NilParams {
			params = nil
		}
		if c.Float32 {
			status = C.goloss_seed_f32((*C.float)(loss.data()), (*C.float)(gradPtr), (*C.float)(labels.data()),
				(*C.float)(predPtr), (*C.float)(weightsPtr), C.int64_t(c.Rows), C.int64_t(c.Cols), params, msg, errLen)
		} else {
			status = C.goloss_seed_f64((*C.double)(loss.data()), (*C.double)(gradPtr), (*C.double)(labels.data()),
				(*C.double)(predPtr), (*C.double)(weightsPtr), C.int64_t(c.Rows), C.int64_t(c.Cols), params, msg, errLen)
		}
	case "asymmetric":
		params := (*C.goloss_asymmetric_params)(C.malloc(C.sizeof_goloss_asymmetric_params))
		defer C.free(unsafe.Pointer(params))
		*params = C.goloss_asymmetric_params{gamma_neg: C.double(c.Gamma), gamma_pos: C.double(c.GammaPos), clip: C.double(c.Clip),
			focal_grad: cBool(c.FocalGrad), from_logits: fromLogits, validate: validate, threads: C.int(c.Threads),
			has_ignore: hasIgnore, ignore_value: C.double(c.IgnoreValue), eps: C.double(c.Eps), grad_scale: C.double(c.GradScale)}
		if c.NilParams {
			params = nil
		}
		if c.Float32 {
			status = C.goloss_asymmetric_f32((*C.float)(loss.data()), (*C.float)(gradPtr), (*C.float)(labels.data()),
				(*C.float)(predPtr), (*C.float)(weightsPtr), C.int64_t(c.Rows), C.int64_t(c.Cols), params, msg, errLen)
		} else {
			status = C.goloss_asymmetric_f64((*C.double)(loss.data()), (*C.double)(gradPtr), (*C.double)(labels.data()),
				(*C.double)(predPtr), (*C.double)(weightsPtr), C.int64_t(c.Rows), C.int64_t(c.Cols), params, msg, errLen)
		}
	default:
		params := (*C.goloss_binary_params)(C.malloc(C.sizeof_goloss_binary_params))
		defer C.free(unsafe.Pointer(params))
		*params = C.goloss_binary_params{gamma: C.double(c.Gamma), alpha: (*C.double)(alphaPtr),
			alpha_len: C.int64_t(alphaLen), label_smoothing: C.double(c.E), from_logits: fromLogits, validate: validate,
			threads: C.int(c.Threads), has_ignore: hasIgnore, ignore_value: C.double(c.IgnoreValue), grad_scale: C.double(c.GradScale)}
		if c.NilParams {
			params = nil
		}
		if c.Float32 {
			status = C.goloss_binary_f32((*C.float)(loss.data()), (*C.float)(gradPtr), (*C.float)(labels.data()),
				(*C.float)(predPtr), C.int64_t(c.Rows), C.int64_t(c.Cols), params, msg, errLen)
		} else {
			status = C.goloss_binary_f64((*C.double)(loss.data()), (*C.double)(gradPtr), (*C.double)(labels.data()),
				(*C.double)(predPtr), C.int64_t(c.Rows), C.int64_t(c.Cols), params, msg, errLen)
		}
	}
	raw := C.GoBytes(unsafe.Pointer(msg), errLen)
	r := Result{Status: int(status), Loss: loss.values(), Grad: grad.values()}
	for i, ch := range raw {
		if ch == 0 {
			r.Terminated, r.Message = true, string(raw[:i])
			break
		}
	}
	r.GuardsWhole = loss.guarded() && grad.guarded()
	return r
}
