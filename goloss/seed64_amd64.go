//go:build !noasm

package goloss

// seedRowsF64x4 runs float64 seed rows with AVX2 in 4 float64 lanes and
// reports whether it did; false leaves them to the portable rows.
func seedRowsF64x4(loss, grad, labels, preds, weights []float64, cols int, k *seedConstants) bool {
	return false
}
