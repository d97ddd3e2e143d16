//go:build !noasm

package goloss

// binaryRowsF64x4 runs float64 binary rows with AVX2 in 4 float64 lanes and
// reports whether it did; false leaves them to the portable rows.
func binaryRowsF64x4(loss, grad, labels, preds []float64, cols int, k *binaryConstants, logits bool) bool {
	return false
}
