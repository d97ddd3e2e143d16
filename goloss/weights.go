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
	least, err := checkCounts(dst, counts)
	if err != nil {
		return err
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

// ClassWeightsBeta writes into dst the class-balanced weights of Cui et al.
// ("Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019)
// for the per-class sample counts n: the inverse of each class's effective
// number (1 - beta^n) / (1 - beta), normalised to sum to 1 like the seed's
// weights (multiply by C for the paper's, which sum to C):
//
//	dst[c] = ((1 - beta) / (1 - beta^n[c])) / sum_k ((1 - beta) / (1 - beta^n[k]))
//
// for 0 <= beta < 1. beta = 0 gives uniform weights 1/C; as beta -> 1 they
// approach ClassWeights. 1 - beta cancels, and 1 - beta^n is computed as
// E(n) = -expm1(n * log(beta)), in (0, 1], so that beta = 0.9999 and counts
// of 1e6 keep full precision. Like ClassWeights it normalises by the largest
// term first, the smallest effective number E(m) of the smallest count m:
//
//	dst[c] = (E(m) / E(n[c])) / sum_k (E(m) / E(n[k]))
//
// every E(m)/E(n[k]) in (0, 1] and the sum in [1, C], so that counts of any
// finite positive size give finite weights that sum to 1. Where m*log(beta)
// is so small that E(m) would lose digits (|m * log(beta)| < 2^-1000:
// counts such as 1e-308 or 5e-324), E(n) = n*|log(beta)| to the last bit
// for every n with n*|log(beta)| < 2^-54, and the terms are computed as
// m/n[c] for those counts and m * (|log(beta)| / E(n[c])) for the others.
//
// The counts are checked as ClassWeights checks them, then beta: outside
// [0, 1), or NaN, it is an error naming beta. dst must have len(counts)
// elements.
func ClassWeightsBeta(dst, counts []float64, beta float64) error {
	least, err := checkCounts(dst, counts)
	if err != nil {
		return err
	}
	if !(beta >= 0 && beta < 1) {
		return fmt.Errorf("%w: beta = %v, want 0 <= beta < 1", ErrParam, beta)
	}
	rate := -math.Log(beta) // |log(beta)| in (0, +Inf]; +Inf for beta = 0, where every E(n) = 1
	effective := func(n float64) float64 { return -math.Expm1(-n * rate) }
	if least*rate >= 0x1p-1000 {
		eLeast := effective(least)
		for c, n := range counts {
			dst[c] = eLeast / effective(n)
		}
	} else {
		// E(m) = m*rate to the last bit, and so is E(n) where n*rate < 2^-54
		// (expm1(x) = x there): the ratio of those is m/n.
		for c, n := range counts {
			if n*rate < 0x1p-54 {
				dst[c] = least / n
			} else {
				dst[c] = least * (rate / effective(n))
			}
		}
	}
	var sum float64
	for _, r := range dst {
		sum += r
	}
	for c := range dst {
		dst[c] /= sum
	}
	return nil
}

// checkCounts checks the sizes and the class counts of ClassWeights and
// ClassWeightsBeta and returns the smallest count.
func checkCounts(dst, counts []float64) (least float64, err error) {
	if len(counts) == 0 {
		return 0, fmt.Errorf("%w: no class counts, want one count per class", ErrShape)
	}
	if len(dst) != len(counts) {
		return 0, fmt.Errorf("%w: weights hold %d values for %d class counts", ErrShape, len(dst), len(counts))
	}
	least = math.Inf(1)
	for c, n := range counts {
		if !(n > 0) || math.IsInf(n, 1) {
			return 0, fmt.Errorf("%w: class count %d is %v, want a finite count > 0", ErrValue, c, n)
		}
		least = min(least, n)
	}
	return least, nil
}
