//go:build !amd64

package goloss

// withDefaultFPMode runs fn: only amd64 is known to inherit flush-to-zero
// modes from TensorFlow's threads here.
func withDefaultFPMode(fn func()) { fn() }
