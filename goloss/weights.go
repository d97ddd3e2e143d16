package goloss

import (
	"fmt"
	"math"
)

// ClassWeights writes into dst the seed's normalised inverse-frequency class
// weights for the per-class sample counts n:
//
//	dst[c] = (1 / n[c]) / sum_k (1 / n[k])
//
// so that the weights sum to 1. (The seed writes (N/n[c]) / sum_k (N/n[k])
// with N = sum(n); N cancels.) It is computed as (m/n[c]) / sum_k (m/n[k])
// with m the smallest count, as SPEC asks, so that counts of any finite
// positive size neither overflow nor underflow: every m/n[k] lies in
// (0, 1] and the sum in [1, C] ([1e-308, 1e-308] gives [0.5, 0.5], where
// 1/n overflows). Every count must be finite and > 0; the error names the
// first that is not. dst must have len(counts) elements.
func ClassWeights(dst, counts []float64) error {
	if len(counts) == 0 {
		return fmt.Errorf("%w: no class counts, want one count per class", ErrShape)
	}
	if len(dst) != len(counts) {
		return fmt.Errorf("%w: weights hold %d values for %d class counts", ErrShape, len(dst), len(counts))
	}
	least := math.Inf(1)
	for c, n := range counts {
		if !(n > 0) || math.IsInf(n, 1) {
			return fmt.Errorf("%w: class count %d is %v, want a finite count > 0", ErrValue, c, n)
		}
		least = min(least, n)
	}
	var sum float64
	for _, n := range counts {
		sum += least / n
	}
	for c, n := range counts {
		dst[c] = (least / n) / sum
	}
	return nil
}
