//go:build !unix

package goloss

// runHelpers has no helpers here: forRowChunksChecked starts goroutines.
func runHelpers(int, func()) (wait func(), ok bool) { return nil, false }
