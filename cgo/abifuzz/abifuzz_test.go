package abifuzz

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunWorkedExample(t *testing.T) {
	counts := []float64{1, 2, 3}
	var sum float64
	for _, n := range counts {
		sum += 1 / n
	}
	w := []float64{1 / sum, 0.5 / sum, 1.0 / 3 / sum}
	for _, f32 := range []bool{false, true} {
		r := Run(Call{Variant: "seed", Float32: f32, Rows: 2, Cols: 3, Labels: []float64{1, 0, 1, 0, 1, 0},
			Preds: []float64{.9, .3, .4, .2, .5, .05}, Weights: w, Gamma: 2, E: 0.1, Validate: true, WithGrad: true})
		require.Equal(t, 0, r.Status, r.Message)
		assert.InEpsilon(t, 0.13935285744407913, r.Loss[0], 1e-6)
		assert.InEpsilon(t, 0.1620203821512099, r.Loss[1], 1e-6)
		assert.True(t, r.GuardsWhole)
	}
}

func floats(raw []byte, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		if len(raw) >= 8*(i+1) {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	}
	return out
}

// FuzzABI drives every loss function of goloss.h with arbitrary sizes
// (negative and zero included), NULL pointers, parameters and values. The
// call returns a status of the header and, on failure, a NUL-terminated
// message and untouched outputs; it never writes past its buffers.
//
// variant % 3 picks seed, binary or asymmetric. flags: bits 0-2 the number
// of alpha values (binary; asymmetric: bit 0 an eps, the last value), bit 3 focal_grad and bits 4-5 clip/4
// (asymmetric, whose gamma_neg is gamma and gamma_pos e), bit 6 an ignore
// value (the first label), bit 7 NULL class weights or alpha.
func FuzzABI(f *testing.F) {
	f.Add(uint8(0), false, int64(2), int64(3), 2.0, 0.1, true, false, false, uint8(0), []byte{})
	f.Add(uint8(1), true, int64(1), int64(4), 0.5, 0.0, false, true, false, uint8(2), []byte{0, 0, 0, 0, 0, 0x40, 0x8f, 0x40})
	f.Add(uint8(0), true, int64(-1), int64(3), 2.0, 0.1, true, false, false, uint8(1), []byte{})
	f.Add(uint8(1), false, int64(3), int64(0), -1.0, 2.0, true, false, true, uint8(0), []byte{1})
	f.Add(uint8(0), false, int64(1<<40), int64(1<<40), 2.0, 0.1, true, false, false, uint8(0), []byte{})
	f.Add(uint8(1), true, int64(1<<40), int64(1<<20), 2.0, 0.1, true, false, false, uint8(0), []byte{})
	f.Add(uint8(0), true, int64(0), int64(1<<62), 2.0, 0.1, true, false, false, uint8(1), []byte{})
	f.Add(uint8(2), false, int64(2), int64(3), 4.0, 1.0, true, true, false, uint8(0b01011000), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0xbf})
	f.Add(uint8(2), true, int64(3), int64(2), 2.5, 0.5, true, false, false, uint8(0b10110000), []byte{})
	f.Add(uint8(2), false, int64(0), int64(1<<61), 4.0, 1.0, true, false, false, uint8(0), []byte{})
	f.Add(uint8(2), true, int64(1<<30), int64(1<<30), 4.0, 1.0, true, false, true, uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, variant uint8, f32 bool, rows, cols int64, gamma, e float64, validate, logits, nilPreds bool, flags uint8, raw []byte) {
		r16, c16 := rows, cols
		if r16 >= 0 && c16 >= 0 && (r16 >= 64 || c16 >= 64) {
			r16, c16 = r16%64, c16%64 // keep real buffers small; huge sizes are seeded above
		}
		n := 0
		if r16 > 0 && c16 > 0 && r16 < 1<<16 && c16 < 1<<16 {
			n = int(r16 * c16)
		}
		a := int(flags % 8)
		values := floats(raw, 2*n+int(max(c16, 0)%64)+a)
		c := Call{Variant: "seed", Float32: f32, Rows: r16, Cols: c16, Labels: values[:n], Preds: values[n : 2*n],
			Weights: values[2*n:], Gamma: gamma, E: e, Validate: validate, NilPredictions: nilPreds,
			FromLogits: logits, WithGrad: len(raw)%2 == 0, Threads: len(raw) % 5, NilWeights: flags&128 != 0}
		if flags&64 != 0 && len(values) > 0 {
			c.HasIgnore, c.IgnoreValue = true, values[0]
		}
		if flags&32 != 0 && len(values) > 0 {
			c.GradScale = values[0] // any value: negative, NaN, Inf, or 0 in float32 is GOLOSS_ERR_PARAM
		}
		switch variant % 3 {
		case 1:
			c.Variant = "binary"
			c.Alpha = values[len(values)-a:]
		case 2:
			c.Variant = "asymmetric"
			c.GammaPos, c.E = e, 0
			c.Clip = float64(flags>>4&3) / 4
			c.FocalGrad = flags&8 != 0
			if flags&1 != 0 && len(values) > 0 {
				c.Eps = values[len(values)-1] // any value: out of range is GOLOSS_ERR_PARAM
			}
		}
		res := Run(c)
		if res.Status < 0 || res.Status > 6 {
			t.Fatalf("status %d is not a goloss_status", res.Status)
		}
		if res.Status == 6 {
			t.Fatalf("GOLOSS_ERR_PROCESS in the process that loaded the library: %s", res.Message)
		}
		if !res.GuardsWhole {
			t.Fatalf("a write past an output buffer: %+v", c)
		}
		if res.Status != 0 {
			if !res.Terminated || res.Message == "" {
				t.Fatalf("status %d without a terminated message", res.Status)
			}
			for i, v := range res.Loss {
				if v != Guard {
					t.Fatalf("loss[%d] written on error %d (%s)", i, res.Status, res.Message)
				}
			}
		}
		if res.Status == 5 {
			t.Fatalf("internal error: %s", res.Message)
		}
	})
}

// The process that loaded the functions (this test, which links them) is no
// forked child: goloss_process_check says so, and the ABI version comes
// from C.
func TestProcessCheck(t *testing.T) {
	status, msg := ProcessCheck()
	assert.Equal(t, 0, status, msg)
	assert.Empty(t, msg)
	assert.Equal(t, 6, ABIVersion())
}

// TestSizesBeyondMemory: a claimed size whose buffer cannot fit in the
// address space is GOLOSS_ERR_SHAPE, naming the sizes and why, for every
// pointer argument and both element types; the ABI reads nothing (the
// buffers behind the pointers hold no more than a guard).
func TestSizesBeyondMemory(t *testing.T) {
	const most = "(140737488355328 bytes at most)"
	for _, tc := range []struct {
		name   string
		call   Call
		status int
		msg    string
	}{
		{"seed float32 labels, predictions, grad", Call{Variant: "seed", Float32: true, Rows: 1 << 40, Cols: 1 << 20, WithGrad: true},
			2, "rows 1099511627776 × cols 1048576 = 1152921504606846976 values of 4 bytes do not fit in memory " + most},
		{"seed float64", Call{Variant: "seed", Rows: 1 << 44, Cols: 1 << 4},
			2, "rows 17592186044416 × cols 16 = 281474976710656 values of 8 bytes do not fit in memory"},
		{"binary float32", Call{Variant: "binary", Float32: true, Rows: 1 << 20, Cols: 1<<25 + 1},
			2, "rows 1048576 × cols 33554433 = 35184373137408 values of 4 bytes do not fit in memory"},
		{"binary float64 logits", Call{Variant: "binary", FromLogits: true, Rows: 3, Cols: 1 << 62},
			2, "rows 3 × cols 4611686018427387904 = 13835058055282163712 values of 8 bytes"},
		{"rows × cols beyond 2^64", Call{Variant: "binary", Rows: 1 << 40, Cols: 1 << 40},
			2, "rows 1099511627776 × cols 1099511627776 = about 1.209e+24 values of 8 bytes do not fit in memory"},
		{"seed weights of an empty batch", Call{Variant: "seed", Rows: 0, Cols: 1 << 60},
			2, "weights: cols = 1152921504606846976 values of 8 bytes do not fit in memory " + most},
		{"seed float32 weights", Call{Variant: "seed", Float32: true, Rows: 0, Cols: 1<<45 + 1},
			2, "weights: cols = 35184372088833 values of 4 bytes"},
		{"binary alpha", Call{Variant: "binary", Rows: 1, Cols: 2, Alpha: []float64{0.25}, AlphaLen: 1 << 60},
			2, "alpha: alpha_len = 1152921504606846976 values of 8 bytes do not fit in memory " + most},
		// At the limit the sizes pass, and the NULL predictions are what is wrong.
		{"float32 at 2^47 bytes", Call{Variant: "seed", Float32: true, Rows: 1 << 20, Cols: 1 << 25, NilPredictions: true},
			1, "predictions is NULL for 35184372088832 values"},
		{"float64 at 2^47 bytes", Call{Variant: "binary", Rows: 1 << 24, Cols: 1 << 20, NilPredictions: true},
			1, "predictions is NULL for 17592186044416 values"},
		{"float64 one row beyond", Call{Variant: "binary", Rows: 1<<24 + 1, Cols: 1 << 20, NilPredictions: true},
			2, "rows 16777217 × cols 1048576 = 17592187092992 values of 8 bytes do not fit in memory"},
		{"negative rows", Call{Variant: "seed", Rows: -1, Cols: 3}, 1, "rows = -1 and cols = 3, want sizes >= 0"},
		{"negative alpha_len", Call{Variant: "binary", Rows: 1, Cols: 2, Alpha: []float64{0.25}, AlphaLen: -1},
			1, "alpha_len = -1, want a size >= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Run(tc.call)
			assert.Equal(t, tc.status, r.Status, r.Message)
			assert.Contains(t, r.Message, tc.msg)
			assert.True(t, r.GuardsWhole)
		})
	}
}

// TestEmptyBatchNeedsNoBuffers: rows = 0 takes NULL for every data pointer,
// the seed variant's class weights included, and still checks the
// parameters; alpha, a parameter, is still required when alpha_len > 0.
func TestEmptyBatchNeedsNoBuffers(t *testing.T) {
	for _, f32 := range []bool{false, true} {
		ok := Run(Call{Variant: "seed", Float32: f32, Rows: 0, Cols: 5, Gamma: 2, E: 0.1, Validate: true, NilPredictions: true, NilWeights: true})
		assert.Equal(t, 0, ok.Status, ok.Message)
		bad := Run(Call{Variant: "seed", Float32: f32, Rows: 0, Cols: 5, Gamma: -1, NilWeights: true})
		assert.Equal(t, 3, bad.Status)
		assert.Contains(t, bad.Message, "gamma = -1")
		noCols := Run(Call{Variant: "seed", Float32: f32, Rows: 0, Cols: 0, Gamma: 2, NilWeights: true})
		assert.Equal(t, 2, noCols.Status, noCols.Message)
		weightsGiven := Run(Call{Variant: "seed", Float32: f32, Rows: 0, Cols: 2, Weights: []float64{1, math.Inf(1)}, Validate: true})
		assert.Equal(t, 4, weightsGiven.Status, "weights that are given are checked")
		oneRow := Run(Call{Variant: "seed", Float32: f32, Rows: 1, Cols: 2, Labels: []float64{1, 0}, Preds: []float64{.5, .5}, NilWeights: true})
		assert.Equal(t, 1, oneRow.Status)
		assert.Contains(t, oneRow.Message, "weights is NULL for 2 values")

		binary := Run(Call{Variant: "binary", Float32: f32, Rows: 0, Cols: 3, Gamma: 2, NilPredictions: true})
		assert.Equal(t, 0, binary.Status, binary.Message)
		smoothing := Run(Call{Variant: "binary", Float32: f32, Rows: 0, Cols: 3, E: 2, NilPredictions: true})
		assert.Equal(t, 3, smoothing.Status)
		assert.Contains(t, smoothing.Message, "label_smoothing = 2")
		alpha := Run(Call{Variant: "binary", Float32: f32, Rows: 0, Cols: 3, Alpha: []float64{0.25}, NilWeights: true})
		assert.Equal(t, 1, alpha.Status)
		assert.Contains(t, alpha.Message, "alpha is NULL for 1 values")
	}
}

// TestBinaryLabelsThroughTheABI: a label of the binary variant outside
// [0, 1] is GOLOSS_ERR_VALUE naming it (with validation; on probabilities
// and logits), the seed variant takes it.
func TestBinaryLabelsThroughTheABI(t *testing.T) {
	labels := []float64{1, 0, 0.5, 0, 1, -2}
	preds := []float64{.5, .5, .5, .5, .5, .5}
	for _, f32 := range []bool{false, true} {
		for _, logits := range []bool{false, true} {
			r := Run(Call{Variant: "binary", Float32: f32, FromLogits: logits, Rows: 2, Cols: 3, Labels: labels, Preds: preds,
				Gamma: 2, Validate: true, WithGrad: true, Threads: 2})
			assert.Equal(t, 4, r.Status, r.Message)
			assert.Equal(t, "goloss: invalid value: labels[1, 2] = -2 is not in [0, 1]", r.Message)
			assert.Equal(t, []float64{Guard, Guard}, r.Loss)
			r = Run(Call{Variant: "binary", Float32: f32, FromLogits: logits, Rows: 2, Cols: 3, Labels: labels, Preds: preds, Gamma: 2})
			assert.Equal(t, 0, r.Status, "without validation: %s", r.Message)
		}
		r := Run(Call{Variant: "seed", Float32: f32, Rows: 2, Cols: 3, Labels: labels, Preds: preds, Weights: []float64{1, 1, 1},
			Gamma: 2, E: 0.1, Validate: true})
		assert.Equal(t, 0, r.Status, "the seed variant takes any finite label: %s", r.Message)
	}
}

// TestAsymmetricThroughTheABI: the asymmetric variant's sizes, NULL class
// weights (weights of 1, for any rows), validation and ignore values reach
// C as the header says, for both element types.
func TestAsymmetricThroughTheABI(t *testing.T) {
	labels := []float64{1, 0, 0.5, -1, 1, 0}
	preds := []float64{.9, .2, .5, .5, .3, .05}
	for _, f32 := range []bool{false, true} {
		base := Call{Variant: "asymmetric", Float32: f32, Rows: 2, Cols: 3, Labels: labels, Preds: preds,
			Gamma: 4, GammaPos: 1, Clip: 0.05, Validate: true, WithGrad: true, Threads: 2, HasIgnore: true, IgnoreValue: -1,
			NilWeights: true}
		ok := Run(base)
		require.Equal(t, 0, ok.Status, ok.Message)
		assert.True(t, ok.GuardsWhole)
		assert.Equal(t, 0.0, ok.Grad[3], "an unknown label gets a zero gradient")
		weighted := base
		weighted.Weights, weighted.NilWeights = []float64{1, 1, 1}, false
		same := Run(weighted)
		require.Equal(t, 0, same.Status, same.Message)
		assert.Equal(t, ok.Loss, same.Loss, "NULL class weights are weights of 1")
		assert.Equal(t, ok.Grad, same.Grad)
		weighted.Weights = []float64{2, 2, 2}
		double := Run(weighted)
		assert.Equal(t, []float64{2 * ok.Loss[0], 2 * ok.Loss[1]}, double.Loss)
		scaled := base
		scaled.GradScale = 0.5
		half := Run(scaled)
		require.Equal(t, 0, half.Status, half.Message)
		assert.Equal(t, ok.Loss, half.Loss, "grad_scale leaves the loss")
		for i, g := range ok.Grad {
			assert.Equal(t, g/2, half.Grad[i], "grad_scale 0.5: grad[%d]", i)
		}

		known := base
		known.HasIgnore = false
		r := Run(known)
		assert.Equal(t, 4, r.Status)
		assert.Equal(t, "goloss: invalid value: labels[1, 0] = -1 is not in [0, 1]", r.Message)
		assert.Equal(t, []float64{Guard, Guard}, r.Loss)

		for _, tc := range []struct {
			change func(*Call)
			status int
			msg    string
		}{
			{func(c *Call) { c.Gamma = -1 }, 3, "gamma_neg = -1"},
			{func(c *Call) { c.GammaPos = math.NaN() }, 3, "gamma_pos = NaN"},
			{func(c *Call) { c.Clip = 1.5 }, 3, "clip = 1.5"},
			{func(c *Call) { c.Eps = -1 }, 3, "eps = -1"},
			{func(c *Call) { c.Eps = math.NaN() }, 3, "eps = NaN"},
			{func(c *Call) { c.IgnoreValue = math.NaN() }, 3, "ignore_value = NaN"},
			{func(c *Call) { c.GradScale = -0.5 }, 3, "grad_scale = -0.5"},
			{func(c *Call) { c.Weights, c.NilWeights = []float64{1, -1, 1}, false }, 4, "class_weights[1] = -1"},
			{func(c *Call) { c.Preds = []float64{.9, .2, .5, .5, 1.3, .05} }, 4, "predictions[1, 1] = 1.3"},
			{func(c *Call) { c.NilParams = true }, 1, "params is NULL"},
			{func(c *Call) { c.NilPredictions = true }, 1, "predictions is NULL for 6 values"},
			{func(c *Call) { c.Rows, c.Cols, c.NilWeights = 0, 1<<61, false; c.Weights = []float64{1} }, 2, "class_weights: cols = 2305843009213693952"},
			{func(c *Call) { c.Rows, c.Cols = 1<<33, 1<<33 }, 2, "rows 8589934592 × cols 8589934592"},
		} {
			c := base
			tc.change(&c)
			r := Run(c)
			assert.Equal(t, tc.status, r.Status, r.Message)
			assert.Contains(t, r.Message, tc.msg)
			assert.True(t, r.GuardsWhole)
		}
		empty := Run(Call{Variant: "asymmetric", Float32: f32, Rows: 0, Cols: 3, NilPredictions: true, NilWeights: true})
		assert.Equal(t, 0, empty.Status, empty.Message)
	}
}

// TestIgnoreValuesThroughTheABI: has_ignore and ignore_value of the seed
// and binary parameters reach the core; zero-initialised, they change
// nothing.
func TestIgnoreValuesThroughTheABI(t *testing.T) {
	labels := []float64{1, -1, 0, -1, -1, -1}
	preds := []float64{.8, .5, .3, .5, .5, .5}
	for _, f32 := range []bool{false, true} {
		b := Run(Call{Variant: "binary", Float32: f32, Rows: 2, Cols: 3, Labels: labels, Preds: preds, Gamma: 2, Validate: true,
			WithGrad: true, HasIgnore: true, IgnoreValue: -1})
		require.Equal(t, 0, b.Status, b.Message)
		assert.InEpsilon(t, (0.04*-math.Log(0.8)+0.09*-math.Log(0.7))/2, b.Loss[0], 1e-6)
		assert.Equal(t, 0.0, b.Loss[1], "no known class")
		assert.Equal(t, []float64{0, 0, 0, 0}, []float64{b.Grad[1], b.Grad[3], b.Grad[4], b.Grad[5]})

		seed := Call{Variant: "seed", Float32: f32, Rows: 2, Cols: 3, Labels: []float64{1, 0.5, 0, 0.5, 1, 0}, Preds: preds,
			Weights: []float64{1, 2, 3}, Gamma: 2, E: 0.1, Validate: true, WithGrad: true, HasIgnore: true, IgnoreValue: 0.5}
		zeroed := seed
		zeroed.Labels, zeroed.HasIgnore = []float64{1, 0, 0, 0, 1, 0}, false
		s, z := Run(seed), Run(zeroed)
		require.Equal(t, 0, s.Status, s.Message)
		assert.Equal(t, z.Loss, s.Loss, "an unknown seed label is a label of 0")
		assert.Equal(t, z.Grad, s.Grad)
	}
}

// TestClassWeightsBetaThroughTheABI: goloss_class_weights_beta computes
// the core's weights, names its errors and writes nothing on one.
func TestClassWeightsBetaThroughTheABI(t *testing.T) {
	r := ClassWeightsBeta([]float64{1, 2, 3}, 3, 0.9)
	require.Equal(t, 0, r.Status, r.Message)
	want := make([]float64, 3)
	var sum float64
	for c, n := range []float64{1, 2, 3} {
		want[c] = 0.1 / (1 - math.Pow(0.9, n))
		sum += want[c]
	}
	for c := range want {
		assert.InEpsilon(t, want[c]/sum, r.Loss[c], 1e-14)
	}
	assert.True(t, r.GuardsWhole)
	for _, tc := range []struct {
		counts  []float64
		classes int64
		beta    float64
		status  int
		msg     string
	}{
		{[]float64{1, 2}, 2, 1, 3, "goloss: invalid parameter: beta = 1, want 0 <= beta < 1"},
		{[]float64{1, 2}, 2, math.NaN(), 3, "beta = NaN"},
		{[]float64{1, 0}, 2, 0.5, 4, "class count 1 is 0"},
		{[]float64{1}, 0, 0.5, 2, "0 classes, want at least 1"},
		{[]float64{1}, 1 << 61, 0.5, 2, "classes = 2305843009213693952"},
		{[]float64{1}, -1, 0.5, 2, "-1 classes"},
	} {
		r := ClassWeightsBeta(tc.counts, tc.classes, tc.beta)
		assert.Equal(t, tc.status, r.Status, r.Message)
		assert.Contains(t, r.Message, tc.msg)
		assert.True(t, r.Terminated)
		for _, v := range r.Loss {
			assert.Equal(t, Guard, v, "weights written on error")
		}
	}
}
