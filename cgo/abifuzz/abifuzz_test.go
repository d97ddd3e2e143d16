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
func FuzzABI(f *testing.F) {
	f.Add(false, false, int64(2), int64(3), 2.0, 0.1, true, false, false, uint8(0), []byte{})
	f.Add(true, true, int64(1), int64(4), 0.5, 0.0, false, true, false, uint8(2), []byte{0, 0, 0, 0, 0, 0x40, 0x8f, 0x40})
	f.Add(false, true, int64(-1), int64(3), 2.0, 0.1, true, false, false, uint8(1), []byte{})
	f.Add(true, false, int64(3), int64(0), -1.0, 2.0, true, false, true, uint8(0), []byte{1})
	f.Add(false, false, int64(1<<40), int64(1<<40), 2.0, 0.1, true, false, false, uint8(0), []byte{})
	f.Add(true, true, int64(1<<40), int64(1<<20), 2.0, 0.1, true, false, false, uint8(0), []byte{})
	f.Add(false, true, int64(0), int64(1<<62), 2.0, 0.1, true, false, false, uint8(1), []byte{})
	f.Fuzz(func(t *testing.T, binaryVariant, f32 bool, rows, cols int64, gamma, e float64, validate, logits, nilPreds bool, alphas uint8, raw []byte) {
		r16, c16 := rows, cols
		if r16 >= 0 && c16 >= 0 && (r16 >= 64 || c16 >= 64) {
			r16, c16 = r16%64, c16%64 // keep real buffers small; huge sizes are seeded above
		}
		n := 0
		if r16 > 0 && c16 > 0 && r16 < 1<<16 && c16 < 1<<16 {
			n = int(r16 * c16)
		}
		a := int(alphas % 8)
		values := floats(raw, 2*n+int(max(c16, 0)%64)+a)
		c := Call{Variant: "seed", Float32: f32, Rows: r16, Cols: c16, Labels: values[:n], Preds: values[n : 2*n],
			Weights: values[2*n:], Gamma: gamma, E: e, Validate: validate, NilPredictions: nilPreds,
			FromLogits: logits, WithGrad: len(raw)%2 == 0, Threads: len(raw) % 5}
		if binaryVariant {
			c.Variant = "binary"
			c.Alpha = values[len(values)-a:]
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
	assert.Equal(t, 3, ABIVersion())
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
