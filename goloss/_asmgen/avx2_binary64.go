package main

// binary64Kernels declares the AVX2 float64 binary kernels (group binary64
// of avx2): 4 float64 lanes, probabilities and logits.
func binary64Kernels() {}
