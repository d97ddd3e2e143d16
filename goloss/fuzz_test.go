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
// The float32 run is repeated on the generic kernel, which must return the
// same error.
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
		var errGeneric error
		onGeneric(func() {
			errGeneric = SeedLossGrad(make([]float32, r), make([]float32, n), toF32(labels), toF32(preds), toF32(weights), c, prm)
		})
		requireSameError(t, err32, errGeneric)
	})
}

// requireSameError fails unless the vector kernel in use and the generic
// one accept or reject the same input with the same error: validation is
// shared, so a kernel must never turn an error into a result or back.
func requireSameError(t *testing.T, err, errGeneric error) {
	t.Helper()
	if (err == nil) != (errGeneric == nil) || err != nil && err.Error() != errGeneric.Error() {
		t.Fatalf("kernel %s: error %v, generic: error %v", activeKernel, err, errGeneric)
	}
}

// onGeneric runs fn on the generic kernel.
func onGeneric(fn func()) {
	old := activeKernel
	activeKernel = KernelGeneric
	defer func() { activeKernel = old }()
	fn()
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
		var errGeneric error
		onGeneric(func() {
			errGeneric = BinaryLossGrad(make([]float32, r), make([]float32, n), toF32(values[:n]), toF32(values[n:2*n]), c, prm)
		})
		requireSameError(t, err32, errGeneric)

		// Again with the first label as the ignore value.
		if n > 0 {
			prm.HasIgnore, prm.IgnoreValue = true, values[0]
			err := BinaryLossGrad(loss32, grad32, toF32(values[:n]), toF32(values[n:2*n]), c, prm)
			onGeneric(func() {
				errGeneric = BinaryLossGrad(make([]float32, r), make([]float32, n), toF32(values[:n]), toF32(values[n:2*n]), c, prm)
			})
			requireSameError(t, err, errGeneric)
		}
	})
}

// FuzzAsymmetric does the same for the asymmetric variant: every flag
// (focal_grad, from_logits, class weights, an ignore value taken from the
// first label, validation) from the bits of flags.
func FuzzAsymmetric(f *testing.F) {
	f.Add(uint8(2), uint8(3), 4.0, 1.0, 0.05, uint8(0), []byte{})
	f.Add(uint8(1), uint8(2), 2.5, 0.5, 0.0, uint8(0b11111), []byte{0, 0, 0, 0, 0, 0x40, 0x8f, 0x40})
	f.Add(uint8(4), uint8(3), 0.0, 0.0, 1.0, uint8(0b00110), []byte{})
	f.Add(uint8(3), uint8(0), -1.0, 2.0, 2.0, uint8(0b01000), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, rows, cols uint8, gammaNeg, gammaPos, clip float64, flags uint8, raw []byte) {
		r, c := int(rows%16), int(cols%64)
		n := r * c
		values := floatsFrom(raw, 2*n+c)
		prm := Asymmetric{GammaNeg: gammaNeg, GammaPos: gammaPos, Clip: clip,
			FocalGrad: flags&1 != 0, FromLogits: flags&2 != 0, NoValidate: flags&16 != 0, Threads: int(flags >> 5)}
		var weights []float64
		if flags&4 != 0 {
			weights = values[2*n:]
		}
		if flags&8 != 0 && n > 0 {
			prm.HasIgnore, prm.IgnoreValue = true, values[0]
		}
		loss, grad := make([]float64, r), make([]float64, n)
		err := AsymmetricLossGrad(loss, grad, values[:n], values[n:2*n], weights, c, prm)
		if err == nil && c == 0 {
			t.Fatal("zero classes accepted")
		}
		loss32, grad32 := make([]float32, r), make([]float32, n)
		err32 := AsymmetricLossGrad(loss32, grad32, toF32(values[:n]), toF32(values[n:2*n]), toF32(weights), c, prm)
		var errGeneric error
		onGeneric(func() {
			errGeneric = AsymmetricLossGrad(make([]float32, r), make([]float32, n), toF32(values[:n]), toF32(values[n:2*n]), toF32(weights), c, prm)
		})
		requireSameError(t, err32, errGeneric)
	})
}
