package goloss

// scaleGradPortable multiplies every g[i] by c in place: scaleGrad's code
// on the generic kernel, in this build without vector kernels, and for an
// element type that is not exactly float32 or float64.
func scaleGradPortable[T Float](g []T, c T) {
	for i := range g {
		g[i] = c * g[i]
	}
}
