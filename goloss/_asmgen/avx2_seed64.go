package main

// seed64Kernels declares the AVX2 float64 seed kernels (group seed64 of
// avx2): 4 float64 lanes.
func seed64Kernels() {}
