package goloss

import (
	"encoding/binary"
	"math"
	"testing"
)

// floatsFrom decodes up to n float64s from raw bytes, 8 bytes each; what the
// fuzzer writes becomes any float64 at all, NaN and Inf included.
func floatsFrom(raw []byte, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		if len(raw) >= 8*(i+1) {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	}
	return out
}

// FuzzSeed feeds arbitrary shapes, values and parameters to both element
// types: the kernel either computes or returns an error; it never panics, and
// on success every loss is a number or NaN/Inf, never an out-of-range write.
// The float32 run is repeated with the archsimd form of the AVX-512 kernel's
// assembly passes (passesInGo), which must give the same bits.
func FuzzSeed(f *testing.F) {
	f.Add(uint8(2), uint8(3), 2.0, 0.1, false, []byte{})
	f.Add(uint8(1), uint8(1), 0.0, 1.0, true, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f})
	f.Add(uint8(0), uint8(4), 3.7, 0.0, false, []byte{})
	f.Add(uint8(3), uint8(0), -1.0, 2.0, false, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, rows, cols uint8, gamma, e float64, noValidate bool, raw []byte) {
		r, c := int(rows%16), int(cols%64)
		n := r * c
		values := floatsFrom(raw, 2*n+c)
		labels, preds, weights := values[:n], values[n:2*n], values[2*n:]
		prm := Seed{Gamma: gamma, E: e, NoValidate: noValidate}
		loss, grad := make([]float64, r), make([]float64, n)
		err := SeedLossGrad(loss, grad, labels, preds, weights, c, prm)
		if err == nil && c == 0 {
			t.Fatal("zero classes accepted")
		}
		loss32, grad32 := make([]float32, r), make([]float32, n)
		err32 := SeedLossGrad(loss32, grad32, toF32(labels), toF32(preds), toF32(weights), c, prm)
		// The assembly passes of the float32 kernel against their archsimd
		// form, bit for bit (the same code where there is no assembly).
		inGo32, inGoGrad32 := make([]float32, r), make([]float32, n)
		passesInGo = true
		errGo := SeedLossGrad(inGo32, inGoGrad32, toF32(labels), toF32(preds), toF32(weights), c, prm)
		passesInGo = false
		requireSameBits32(t, err32, errGo, loss32, inGo32, grad32, inGoGrad32)
	})
}

// requireSameBits32 fails unless two float32 runs agree: the same error,
// and the same bits of the loss and gradient, where NaN matches any NaN
// (which NaN an operation returns depends on its operands' order).
func requireSameBits32(t *testing.T, err, errGo error, loss, lossGo, grad, gradGo []float32) {
	t.Helper()
	if (err == nil) != (errGo == nil) {
		t.Fatalf("assembly: error %v, archsimd: error %v", err, errGo)
	}
	same := func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
	}
	for i := range loss {
		if !same(loss[i], lossGo[i]) {
			t.Fatalf("loss[%d]: assembly %v, archsimd %v", i, loss[i], lossGo[i])
		}
	}
	for i := range grad {
		if !same(grad[i], gradGo[i]) {
			t.Fatalf("grad[%d]: assembly %v, archsimd %v", i, grad[i], gradGo[i])
		}
	}
}

// FuzzBinary does the same for the binary variant, logits included.
func FuzzBinary(f *testing.F) {
	f.Add(uint8(2), uint8(3), 2.0, 0.0, uint8(0), false, false, []byte{})
	f.Add(uint8(1), uint8(2), 0.5, 0.1, uint8(1), true, false, []byte{0, 0, 0, 0, 0, 0x40, 0x8f, 0x40})
	f.Add(uint8(4), uint8(3), 0.0, 1.0, uint8(3), false, true, []byte{})
	f.Fuzz(func(t *testing.T, rows, cols uint8, gamma, ls float64, alphas uint8, logits, noValidate bool, raw []byte) {
		r, c := int(rows%16), int(cols%64)
		n := r * c
		a := int(alphas % 20)
		values := floatsFrom(raw, 2*n+a)
		prm := Binary{Gamma: gamma, LabelSmoothing: ls, FromLogits: logits, NoValidate: noValidate}
		if a > 0 {
			prm.Alpha = values[2*n:]
		}
		loss, grad := make([]float64, r), make([]float64, n)
		_ = BinaryLossGrad(loss, grad, values[:n], values[n:2*n], c, prm)
		loss32, grad32 := make([]float32, r), make([]float32, n)
		err32 := BinaryLossGrad(loss32, grad32, toF32(values[:n]), toF32(values[n:2*n]), c, prm)
		inGo32, inGoGrad32 := make([]float32, r), make([]float32, n)
		passesInGo = true
		errGo := BinaryLossGrad(inGo32, inGoGrad32, toF32(values[:n]), toF32(values[n:2*n]), c, prm)
		passesInGo = false
		requireSameBits32(t, err32, errGo, loss32, inGo32, grad32, inGoGrad32)
	})
}
