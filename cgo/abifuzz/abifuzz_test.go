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
		if res.Status < 0 || res.Status > 5 {
			t.Fatalf("status %d is not a goloss_status", res.Status)
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
