package goloss

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSubnormalsWhateverTheThreadMode: a caller thread with flush-to-zero
// and denormals-are-zero on (as TensorFlow's are) gets the same bits as one
// without, subnormal results included, with and without goroutines.
func TestSubnormalsWhateverTheThreadMode(t *testing.T) {
	rows, cols := 64, 512
	labels, preds := make([]float32, rows*cols), make([]float32, rows*cols)
	for i := range preds {
		preds[i] = 1e-8 // clipped; gamma 5 makes the gradient about 1e-39, subnormal
	}
	run := func(threads int) []float32 {
		grad := make([]float32, rows*cols)
		require.NoError(t, BinaryLossGrad(make([]float32, rows), grad, labels, preds, cols, Binary{Gamma: 5, Threads: threads}))
		return grad
	}
	want := run(1)
	require.NotZero(t, want[0])
	require.Less(t, math.Abs(float64(want[0])), float64(math.SmallestNonzeroFloat32)*1e7, "a subnormal float32")

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	saved := getMXCSR()
	setMXCSR(saved | ftzDAZ)
	defer setMXCSR(saved)
	for _, threads := range []int{1, 4} {
		assert.Equal(t, want, run(threads), "%d threads on a flush-to-zero thread", threads)
	}
	assert.Equal(t, saved|ftzDAZ, getMXCSR(), "the caller's mode is restored")
}
