//go:build !goloss_testhooks

package capi

// testHookPanic does nothing: the shipped library has no test hooks, so no
// environment can make its calls fail (see testhooks_on.go).
func testHookPanic() {}
